//! GPU path of the quant family (feature `cuda`): I2_S GEMV and small-batch GEMM on CUDA.
//!
//! The CUDA libraries are loaded at run time (cudarc `dynamic-loading`), so this crate
//! builds and tests on machines without a CUDA toolkit. cudarc panics when a library it
//! needs cannot be loaded, so every entry point first checks that the driver library can be
//! opened (`is_culib_present`), initialises it and counts devices, and only then creates a
//! context; NVRTC is checked the same way before the kernel source is compiled, at first use.
//! No driver or no device is `GpuError::Unavailable("no CUDA device")`, never a panic.
//!
//! The kernel ([`KERNEL_SOURCE`]) is integer-exact and converts sums to f32 with the same
//! correctly rounded operations as [`crate::quant::dequantize`], so its outputs hash equal
//! to the CPU's. Kernel time and host↔device transfer times are measured separately with
//! CUDA events ([`GpuTiming`]).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use cudarc::driver::sys::{self, CUdevice_attribute};
use cudarc::driver::{
    CudaContext, CudaFunction, CudaSlice, CudaStream, LaunchConfig, PushKernelArg, result,
};
use cudarc::nvrtc::{CompileOptions, Ptx, compile_ptx_with_opts};
use serde::{Deserialize, Serialize};

use crate::quant::{I2sMatrix, QuantError, QuantizedActivations};

/// The CUDA C source of the I2_S kernels, compiled by NVRTC at first use.
pub const KERNEL_SOURCE: &str = include_str!("i2s.cu");

/// The reason recorded when a GPU workload is skipped for lack of a device.
pub const NO_DEVICE: &str = "no CUDA device";

/// Environment variable selecting the device by PCI bus id (e.g. `0000:65:00.0`); without
/// it, device 0 is used. The chosen bus id is part of [`GpuInfo`].
pub const DEVICE_ENV: &str = "BENCHSEAL_CUDA_PCI_BUS_ID";

/// Warps (hence rows) per thread block.
const ROWS_PER_BLOCK: u32 = 8;
/// Tokens per warp in the GEMM kernel (`i2s_gemm8`).
const GEMM_TOKENS: usize = 8;

/// CUDA API level of cudarc's bindings: must name the same version as the `cuda-12060`
/// feature `kernels/Cargo.toml` enables (a test checks that the two agree).
pub const BINDINGS_CUDA_VERSION: &str = "12.6";

thread_local! {
    // Kept outside `cfg(test)` because the check that the no-device path compiles nothing
    // is an integration test (`tests/gpu.rs`), which sees only the public crate; the cost is
    // one thread-local increment per NVRTC compilation, next to a compile of ~100 ms.
    // Per thread, so a check of "nothing was compiled" is not disturbed by other threads.
    static NVRTC_COMPILATIONS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// What went wrong on the GPU path.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GpuError {
    /// The path cannot run here; the workload is skipped with this reason.
    #[error("{0}")]
    Unavailable(String),
    #[error("CUDA driver call `{call}` failed: {detail}")]
    Driver { call: &'static str, detail: String },
    #[error("NVRTC could not compile the I2_S kernel: {0}")]
    Compile(String),
    /// The activations hold a different number of tokens than [`GpuGemm::new`] sized the
    /// device buffers for.
    #[error("activations hold {actual} tokens, the GPU GEMM was prepared for {expected}")]
    TokenCount { expected: usize, actual: usize },
    #[error(transparent)]
    Quant(#[from] QuantError),
}

/// The device the GPU path runs on, for the environment record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GpuInfo {
    pub name: String,
    pub pci_bus_id: String,
    pub ordinal: usize,
    /// CUDA version the driver supports (`cuDriverGetVersion`), e.g. "12.4".
    pub driver_cuda_version: String,
    /// NVRTC version, or why it is unavailable.
    pub nvrtc_version: String,
    /// CUDA API level cudarc's bindings were built against.
    pub bindings_cuda_version: String,
    pub compute_capability: String,
    pub sm_count: i32,
    pub total_memory_bytes: usize,
    pub sm_clock_khz: i32,
    pub memory_clock_khz: i32,
    pub memory_bus_width_bits: i32,
    /// 2 · memory clock · bus width: the bound the GEMV's achieved bandwidth is judged by.
    pub peak_memory_bandwidth_gbs: f64,
    pub ecc_enabled: bool,
}

/// Times of one GPU run, from CUDA events on the stream.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GpuTiming {
    /// Activations, their sums and scales, host → device.
    pub upload_ms: f64,
    pub kernel_ms: f64,
    /// Outputs, device → host.
    pub download_ms: f64,
}

/// How many times the kernel source was handed to NVRTC on the calling thread.
pub fn nvrtc_compilations() -> usize {
    NVRTC_COMPILATIONS.get()
}

fn driver(call: &'static str) -> impl Fn(result::DriverError) -> GpuError {
    move |e| GpuError::Driver {
        call,
        detail: format!("{e:?}"),
    }
}

/// Runs `f` with the guarantee that a panic inside cudarc (a library or symbol it cannot
/// load) becomes an error instead of unwinding into the caller.
fn guarded<T>(f: impl FnOnce() -> Result<T, GpuError>) -> Result<T, GpuError> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|panic| {
        let why = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("unknown panic");
        Err(GpuError::Unavailable(format!(
            "CUDA libraries unusable: {why}"
        )))
    })
}

/// Checks that a CUDA driver and at least one device are present, creating no context.
/// `Err` carries the skip reason, [`NO_DEVICE`].
pub fn device_available() -> Result<(), String> {
    probe_device().map(|_| ()).map_err(|e| match e {
        GpuError::Unavailable(why) => why,
        other => format!("{NO_DEVICE} ({other})"),
    })
}

/// Detects the driver and picks the device (by [`DEVICE_ENV`] or ordinal 0).
fn probe_device() -> Result<(usize, sys::CUdevice), GpuError> {
    guarded(|| {
        // SAFETY: only tries to open the driver library by its known names.
        if !unsafe { sys::is_culib_present() } {
            return Err(GpuError::Unavailable(NO_DEVICE.into()));
        }
        result::init().map_err(|_| GpuError::Unavailable(NO_DEVICE.into()))?;
        let count = result::device::get_count().map_err(driver("cuDeviceGetCount"))?;
        if count <= 0 {
            return Err(GpuError::Unavailable(NO_DEVICE.into()));
        }
        let wanted = std::env::var(DEVICE_ENV).ok();
        for ordinal in 0..count {
            let dev = result::device::get(ordinal).map_err(driver("cuDeviceGet"))?;
            match &wanted {
                None => return Ok((ordinal as usize, dev)),
                Some(bus) if pci_bus_id(dev)?.eq_ignore_ascii_case(bus) => {
                    return Ok((ordinal as usize, dev));
                }
                Some(_) => {}
            }
        }
        Err(GpuError::Unavailable(format!(
            "{NO_DEVICE} with PCI bus id {} (from {DEVICE_ENV})",
            wanted.unwrap_or_default()
        )))
    })
}

fn pci_bus_id(dev: sys::CUdevice) -> Result<String, GpuError> {
    let mut buf = [0 as std::ffi::c_char; 64];
    // SAFETY: the buffer is writable for its full length, which is what we pass.
    unsafe { sys::cuDeviceGetPCIBusId(buf.as_mut_ptr(), buf.len() as i32, dev) }
        .result()
        .map_err(driver("cuDeviceGetPCIBusId"))?;
    // SAFETY: the driver wrote a NUL-terminated string into the buffer.
    let id = unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) };
    Ok(id.to_string_lossy().into_owned())
}

fn attribute(dev: sys::CUdevice, attr: CUdevice_attribute) -> Result<i32, GpuError> {
    // SAFETY: `dev` came from cuDeviceGet after a successful cuInit.
    unsafe { result::device::get_attribute(dev, attr) }.map_err(driver("cuDeviceGetAttribute"))
}

fn nvrtc_version() -> Result<String, String> {
    // SAFETY: only tries to open the NVRTC library by its known names.
    if !unsafe { cudarc::nvrtc::sys::is_culib_present() } {
        return Err("NVRTC library not found".into());
    }
    let (mut major, mut minor) = (0, 0);
    // SAFETY: both pointers are valid for one write each.
    unsafe { cudarc::nvrtc::sys::nvrtcVersion(&mut major, &mut minor) }
        .result()
        .map_err(|e| format!("nvrtcVersion failed: {e:?}"))?;
    Ok(format!("{major}.{minor}"))
}

/// The device the GPU path would use; `Err` says why there is none.
pub fn gpu_info() -> Result<GpuInfo, String> {
    let (ordinal, dev) = probe_device().map_err(|e| e.to_string())?;
    guarded(|| {
        use CUdevice_attribute::*;
        let mut version = 0;
        // SAFETY: the pointer is valid for one write; the driver is initialised.
        unsafe { sys::cuDriverGetVersion(&mut version) }
            .result()
            .map_err(driver("cuDriverGetVersion"))?;
        let memory_clock_khz = attribute(dev, CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE)?;
        let memory_bus_width_bits = attribute(dev, CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH)?;
        Ok(GpuInfo {
            name: result::device::get_name(dev).map_err(driver("cuDeviceGetName"))?,
            pci_bus_id: pci_bus_id(dev)?,
            ordinal,
            driver_cuda_version: format!("{}.{}", version / 1000, version % 1000 / 10),
            nvrtc_version: nvrtc_version().unwrap_or_else(|why| why),
            bindings_cuda_version: BINDINGS_CUDA_VERSION.into(),
            compute_capability: format!(
                "{}.{}",
                attribute(dev, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR)?,
                attribute(dev, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR)?
            ),
            sm_count: attribute(dev, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT)?,
            // SAFETY: as for `attribute`.
            total_memory_bytes: unsafe { result::device::total_mem(dev) }
                .map_err(driver("cuDeviceTotalMem"))?,
            sm_clock_khz: attribute(dev, CU_DEVICE_ATTRIBUTE_CLOCK_RATE)?,
            memory_clock_khz,
            memory_bus_width_bits,
            peak_memory_bandwidth_gbs: 2.0
                * f64::from(memory_clock_khz)
                * 1e3
                * f64::from(memory_bus_width_bits)
                / 8.0
                / 1e9,
            ecc_enabled: attribute(dev, CU_DEVICE_ATTRIBUTE_ECC_ENABLED)? != 0,
        })
    })
    .map_err(|e| e.to_string())
}

/// Compiles [`KERNEL_SOURCE`] with NVRTC for compute capability `major.minor`, with the
/// options that keep float operations correctly rounded and unfused (bit-equal to the
/// CPU). Needs only the NVRTC library, no driver; [`GpuGemm::new`] calls it only after a
/// driver and a device were found.
pub fn compile_kernels(major: i32, minor: i32) -> Result<Ptx, GpuError> {
    nvrtc_version().map_err(GpuError::Unavailable)?;
    guarded(|| {
        NVRTC_COMPILATIONS.set(NVRTC_COMPILATIONS.get() + 1);
        compile_ptx_with_opts(
            KERNEL_SOURCE,
            CompileOptions {
                ftz: Some(false),
                prec_div: Some(true),
                fmad: Some(false),
                options: vec![format!("--gpu-architecture=compute_{major}{minor}")],
                name: Some("i2s.cu".into()),
                ..Default::default()
            },
        )
        .map_err(|e| GpuError::Compile(format!("{e:?}")))
    })
}

/// I2_S weights resident on the GPU, with buffers for a fixed number of tokens.
pub struct GpuGemm {
    stream: Arc<CudaStream>,
    function: CudaFunction,
    tokens_per_warp: usize,
    weights: CudaSlice<u8>,
    q: CudaSlice<u8>,
    q_sums: CudaSlice<i32>,
    act_scales: CudaSlice<f32>,
    out: CudaSlice<f32>,
    host_sums: Vec<i32>,
    rows: usize,
    cols: usize,
    row_words: usize,
    tokens: usize,
    weight_scale: f32,
}

impl GpuGemm {
    /// Uploads `weights` and prepares buffers for `tokens` activation rows, compiling the
    /// kernel through NVRTC. Without a driver and device this returns
    /// `Unavailable("no CUDA device")` before any context is created or anything compiled.
    pub fn new(weights: &I2sMatrix, tokens: usize) -> Result<GpuGemm, GpuError> {
        let shape = weights.shape();
        let act_shape = crate::quant::Shape::new(tokens, shape.cols);
        // The kernel indexes rows and tokens with 32-bit ints and tiles tokens over grid.y.
        if tokens == 0 {
            return Err(QuantError::EmptyShape { shape: act_shape }.into());
        }
        let outputs = tokens
            .checked_mul(shape.rows)
            .filter(|_| shape.rows <= i32::MAX as usize && tokens <= 65_535 * GEMM_TOKENS)
            .ok_or(QuantError::TooLarge { shape: act_shape })?;
        let (ordinal, dev) = probe_device()?;
        let (major, minor) = (
            attribute(
                dev,
                CUdevice_attribute::CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR,
            )?,
            attribute(
                dev,
                CUdevice_attribute::CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR,
            )?,
        );
        if (major, minor) < (6, 1) {
            return Err(GpuError::Unavailable(format!(
                "compute capability {major}.{minor} lacks __dp4a (needs 6.1)"
            )));
        }
        let ptx = compile_kernels(major, minor)?;
        let padded = shape.padded_cols();
        let total_q = tokens
            .checked_mul(padded)
            .ok_or(QuantError::TooLarge { shape })?;
        guarded(|| {
            let ctx = CudaContext::new(ordinal).map_err(driver("cuDevicePrimaryCtxRetain"))?;
            let stream = ctx.default_stream();
            let module = ctx.load_module(ptx).map_err(driver("cuModuleLoadData"))?;
            let (name, tokens_per_warp) = if tokens == 1 {
                ("i2s_gemv", 1)
            } else {
                ("i2s_gemm8", GEMM_TOKENS)
            };
            let function = module
                .load_function(name)
                .map_err(driver("cuModuleGetFunction"))?;
            let upload = driver("cuMemcpyHtoD");
            Ok(GpuGemm {
                weights: stream.clone_htod(weights.packed()).map_err(&upload)?,
                q: stream.alloc_zeros::<u8>(total_q).map_err(&upload)?,
                q_sums: stream.alloc_zeros::<i32>(tokens).map_err(&upload)?,
                act_scales: stream.alloc_zeros::<f32>(tokens).map_err(&upload)?,
                out: stream.alloc_zeros::<f32>(outputs).map_err(&upload)?,
                host_sums: vec![0; tokens],
                stream,
                function,
                tokens_per_warp,
                rows: shape.rows,
                cols: shape.cols,
                row_words: weights.row_bytes() / 4,
                tokens,
                weight_scale: weights.scale(),
            })
        })
    }

    /// `out = W · act` on the GPU (same layout and bytes as [`crate::quant::gemm_i2s`]).
    pub fn run(
        &mut self,
        act: &QuantizedActivations,
        out: &mut [f32],
    ) -> Result<GpuTiming, GpuError> {
        let shape = act.shape();
        let weights = crate::quant::Shape::new(self.rows, self.cols);
        if shape.cols != self.cols {
            return Err(QuantError::ShapeMismatch {
                weights,
                activations: shape,
            }
            .into());
        }
        if shape.rows != self.tokens {
            return Err(GpuError::TokenCount {
                expected: self.tokens,
                actual: shape.rows,
            });
        }
        if out.len() != self.tokens * self.rows {
            return Err(QuantError::OutputLength {
                tokens: self.tokens,
                rows: self.rows,
                expected: self.tokens * self.rows,
                actual: out.len(),
            }
            .into());
        }
        for (t, s) in self.host_sums.iter_mut().enumerate() {
            *s = act.row_sum(t);
        }
        let q = act.data();
        // SAFETY: i8 and u8 have the same size and alignment; the slice covers the same bytes.
        let q_bytes = unsafe { std::slice::from_raw_parts(q.as_ptr().cast::<u8>(), q.len()) };
        guarded(|| {
            let timed = Some(sys::CUevent_flags::CU_EVENT_DEFAULT);
            let s = &self.stream;
            let start = s.record_event(timed).map_err(driver("cuEventRecord"))?;
            s.memcpy_htod(q_bytes, &mut self.q)
                .map_err(driver("cuMemcpyHtoD"))?;
            s.memcpy_htod(&self.host_sums, &mut self.q_sums)
                .map_err(driver("cuMemcpyHtoD"))?;
            s.memcpy_htod(act.scales(), &mut self.act_scales)
                .map_err(driver("cuMemcpyHtoD"))?;
            let uploaded = s.record_event(timed).map_err(driver("cuEventRecord"))?;
            let (rows, row_words, tokens) =
                (self.rows as i32, self.row_words as i32, self.tokens as i32);
            let cfg = LaunchConfig {
                grid_dim: (
                    (self.rows as u32).div_ceil(ROWS_PER_BLOCK),
                    self.tokens.div_ceil(self.tokens_per_warp) as u32,
                    1,
                ),
                block_dim: (32 * ROWS_PER_BLOCK, 1, 1),
                shared_mem_bytes: 0,
            };
            let mut launch = s.launch_builder(&self.function);
            launch
                .arg(&self.weights)
                .arg(&self.q)
                .arg(&self.q_sums)
                .arg(&self.act_scales)
                .arg(&self.weight_scale)
                .arg(&rows)
                .arg(&row_words)
                .arg(&tokens)
                .arg(&mut self.out);
            // SAFETY: the argument list matches the kernel signature in i2s.cu (four input
            // device pointers: weights, activations, their sums and scales; the weight
            // scale; three ints; the output pointer); the grid covers
            // `rows` rows and `tokens` tokens and every buffer was sized for them in `new`.
            unsafe { launch.launch(cfg) }.map_err(driver("cuLaunchKernel"))?;
            let computed = s.record_event(timed).map_err(driver("cuEventRecord"))?;
            s.memcpy_dtoh(&self.out, out)
                .map_err(driver("cuMemcpyDtoH"))?;
            let downloaded = s.record_event(timed).map_err(driver("cuEventRecord"))?;
            s.synchronize().map_err(driver("cuStreamSynchronize"))?;
            let ms = |a: &cudarc::driver::CudaEvent, b| {
                a.elapsed_ms(b)
                    .map(f64::from)
                    .map_err(driver("cuEventElapsedTime"))
            };
            Ok(GpuTiming {
                upload_ms: ms(&start, &uploaded)?,
                kernel_ms: ms(&uploaded, &computed)?,
                download_ms: ms(&computed, &downloaded)?,
            })
        })
    }
}
