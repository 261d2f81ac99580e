//! The CUDA path: a clean skip without a device, and bit-equality with the CPU oracle
//! when one is present.
#![cfg(feature = "cuda")]

use benchseal_kernels::gpu::{self, GpuError, GpuGemm, NO_DEVICE};
use benchseal_kernels::quant::{I2sMatrix, QuantKernel, QuantizedActivations, Shape, gemm_i2s};

fn case(shape: Shape, tokens: usize, seed: u64) -> (I2sMatrix, QuantizedActivations) {
    // A small xorshift keeps this test free of extra dependencies; any values will do.
    let mut state = seed | 1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let w: Vec<i8> = (0..shape.rows * shape.cols)
        .map(|_| (next() % 3) as i8 - 1)
        .collect();
    let q: Vec<i8> = (0..tokens * shape.cols)
        .map(|i| if i % 17 == 0 { -128 } else { next() as i8 })
        .collect();
    let scales: Vec<f32> = (0..tokens).map(|t| 0.37 + t as f32).collect();
    (
        I2sMatrix::pack(&w, shape, 0.0123).unwrap(),
        QuantizedActivations::from_int8(&q, &scales, Shape::new(tokens, shape.cols)).unwrap(),
    )
}

#[test]
fn without_a_device_everything_is_skipped_and_nothing_is_compiled() {
    if gpu::device_available().is_ok() {
        // The device case is `gpu_output_is_bit_equal_to_the_oracle` (ignored by default);
        // here only that the probe and the device record agree.
        assert!(gpu::gpu_info().is_ok());
        eprintln!("a device is present: the no-device skip and compile count were not checked");
        return;
    }
    assert_eq!(gpu::device_available(), Err(NO_DEVICE.to_string()));
    assert!(gpu::gpu_info().unwrap_err().contains(NO_DEVICE));
    let (m, _) = case(Shape::new(8, 128), 1, 1);
    let before = gpu::nvrtc_compilations();
    let err = GpuGemm::new(&m, 1).err().expect("no device, no GPU GEMM");
    assert_eq!(err, GpuError::Unavailable(NO_DEVICE.into()));
    assert_eq!(
        gpu::nvrtc_compilations(),
        before,
        "NVRTC must not run without a driver"
    );
}

#[test]
#[ignore = "needs a CUDA device"]
fn gpu_output_is_bit_equal_to_the_oracle() {
    gpu::device_available().expect("this test needs a CUDA device");
    let info = gpu::gpu_info().unwrap();
    eprintln!("{info:?}");
    for (i, (rows, cols, tokens)) in [
        (1, 1, 1),
        (37, 300, 1),
        (64, 4096, 1),
        (33, 1000, 3),
        (130, 2048, 8),
        (70, 777, 13),
    ]
    .into_iter()
    .enumerate()
    {
        let shape = Shape::new(rows, cols);
        let (m, act) = case(shape, tokens, 99 + i as u64);
        let mut cpu = vec![0.0f32; rows * tokens];
        gemm_i2s(&m, &act, &mut cpu, QuantKernel::Scalar).unwrap();
        let mut gemm = GpuGemm::new(&m, tokens).unwrap();
        let mut gpu_out = vec![f32::NAN; rows * tokens];
        let timing = gemm.run(&act, &mut gpu_out).unwrap();
        assert!(timing.kernel_ms >= 0.0);
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&gpu_out), bits(&cpu), "{rows}×{cols}, {tokens} tokens");
    }
    assert!(gpu::nvrtc_compilations() > 0);
}

#[test]
fn the_kernel_source_defines_both_entry_points() {
    // The names `GpuGemm` loads must exist in the source NVRTC compiles.
    for name in ["i2s_gemv", "i2s_gemm8"] {
        assert!(
            gpu::KERNEL_SOURCE.contains(&format!("extern \"C\" __global__ void {name}(")),
            "{name}"
        );
    }
}

#[test]
#[ignore = "needs NVRTC"]
fn the_kernel_source_compiles_with_nvrtc() {
    // NVRTC needs no driver, so the CUDA source can be checked on a machine without a GPU
    // that has the NVRTC library (e.g. LD_LIBRARY_PATH pointing at a CUDA toolkit's lib).
    let ptx = gpu::compile_kernels(9, 0).unwrap().to_src();
    assert!(ptx.contains(".entry i2s_gemv(") && ptx.contains(".entry i2s_gemm8("));
    assert!(ptx.contains("dp4a"), "integer dot products must use dp4a");
    // Bit-equality with the CPU needs the three correctly rounded steps and no fused ones.
    assert!(
        ptx.contains("cvt.rn.f32.s32") && ptx.contains("mul.rn.f32") && ptx.contains("div.rn.f32")
    );
    assert!(
        !ptx.contains("fma.rn.f32"),
        "a fused multiply-add would change output bits"
    );
}

#[test]
#[ignore = "needs a CUDA device"]
fn a_wrong_token_count_is_reported_as_token_count_not_dimension_mismatch() {
    let (m, act) = case(Shape::new(8, 256), 3, 5);
    let mut gemm = GpuGemm::new(&m, 2).unwrap();
    let mut out = vec![0.0f32; 8 * 3];
    assert_eq!(
        gemm.run(&act, &mut out).unwrap_err(),
        GpuError::TokenCount {
            expected: 2,
            actual: 3
        }
    );
}

#[test]
fn bindings_cuda_version_matches_the_cudarc_feature() {
    // `BINDINGS_CUDA_VERSION` is recorded; the bindings actually used are the Cargo feature.
    let (major, minor) = gpu::BINDINGS_CUDA_VERSION.split_once('.').unwrap();
    let feature = format!("\"cuda-{major}{minor:0>2}0\"");
    let manifest = include_str!("../Cargo.toml");
    assert!(
        manifest.contains(&feature),
        "kernels/Cargo.toml must enable cudarc feature {feature}"
    );
}
