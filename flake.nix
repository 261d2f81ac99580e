{
  description = "benchseal: benchmark numbers that are real, reproducible and good enough to ship";

  # nixpkgs is pinned to a release branch (flake.lock holds the exact revision); the Rust
  # toolchain does not come from nixpkgs but from rust-overlay, built from rust-toolchain.toml,
  # so `nix build`, the container and a rustup checkout compile with the same rustc.
  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-25.11";
    rust-overlay = {
      url = "github:oxalica/rust-overlay";
      inputs.nixpkgs.follows = "nixpkgs";
    };
  };

  outputs =
    {
      self,
      nixpkgs,
      rust-overlay,
    }:
    let
      inherit (nixpkgs) lib;
      pins = import ./packaging/nix/pins.nix { root = ./.; };

      # valgrind, and so the instruction-count engine, exists for Linux only.
      systems = [
        "x86_64-linux"
        "aarch64-linux"
      ];
      forEachSystem =
        f:
        lib.genAttrs systems (
          system:
          f (
            import nixpkgs {
              inherit system;
              overlays = [ rust-overlay.overlays.default ];
            }
          )
        );

      # Only what the build reads: a change to README.md or a report does not rebuild.
      workspaceSource = lib.fileset.toSource {
        root = ./.;
        fileset = lib.fileset.unions [
          ./Cargo.toml
          ./Cargo.lock
          ./rust-toolchain.toml
          ./harness
          ./kernels
          ./kernel-cli
          ./benches
          ./tests
          ./packaging/install-bench-executables.sh
          (lib.fileset.maybeMissing ./.cargo)
        ];
      };
      # What a sign-off reads at run time, shipped under share/benchseal.
      releaseData = lib.fileset.toSource {
        root = ./.;
        fileset = lib.fileset.unions [
          (lib.fileset.maybeMissing ./baselines)
          (lib.fileset.maybeMissing ./golden)
          (lib.fileset.maybeMissing ./slo.toml)
        ];
      };

      perSystem =
        pkgs:
        let
          toolchain = pkgs.rust-bin.fromRustupToolchainFile ./rust-toolchain.toml;
          rustPlatform = pkgs.makeRustPlatform {
            cargo = toolchain;
            rustc = toolchain;
          };

          gungraun-runner = rustPlatform.buildRustPackage rec {
            pname = "gungraun-runner";
            inherit (pins.runner) version;
            src = pkgs.fetchCrate {
              inherit pname version;
              inherit (pins.runner) hash;
            };
            # The crate ships its Cargo.lock; building against it is what `--locked` means.
            cargoLock.lockFile = "${src}/Cargo.lock";
            # Its own test suite drives valgrind and perf on fixtures outside the sandbox's reach.
            doCheck = false;
          };

          # Everything the engines call at run time: valgrind (instr), setarch from util-linux
          # (gungraun switches ASLR off with it), the runner.
          runtimeTools = [
            pkgs.valgrind
            pkgs.util-linux
            gungraun-runner
          ];

          benchseal = rustPlatform.buildRustPackage {
            pname = "benchseal";
            inherit (pins) version;
            src = workspaceSource;
            cargoLock.lockFile = ./Cargo.lock;
            cargoBuildFlags = [
              "-p"
              "benchseal"
              "--bin"
              "benchseal"
            ];
            nativeBuildInputs = [ pkgs.makeWrapper ];
            nativeCheckInputs = runtimeTools;

            # The bench executables are built here, once, so `nix run .#bench` measures exactly
            # these files and never compiles at run time.
            postBuild = ''
              cargo bench --frozen -p benchseal-benches --no-run --message-format=json \
                > "$TMPDIR/bench-messages.json"
            '';
            postInstall = ''
              sh packaging/install-bench-executables.sh "$TMPDIR/bench-messages.json" "$out/bin"
              mkdir -p "$out/share/benchseal"
              cp -r ${releaseData}/. "$out/share/benchseal/"
              wrapProgram "$out/bin/benchseal" \
                --prefix PATH : ${lib.makeBinPath runtimeTools} \
                --set-default BENCHSEAL_BENCH_DIR "$out/bin"
            '';

            # The whole workspace's tests run in `checks`; the package build stays lean.
            doCheck = false;
            meta = {
              description = "Benchmark harness with sealed outputs, pinned environments and SLO sign-off";
              license = with lib.licenses; [
                mit
                asl20
              ];
              mainProgram = "benchseal";
            };
          };

          bundle = pkgs.symlinkJoin {
            name = "benchseal-bundle-${pins.version}";
            paths = [ benchseal ] ++ runtimeTools;
            meta.mainProgram = "benchseal";
          };

          # `nix run .#bench`: the sign-off suite of this release, report under reports/v<version>/
          # of the checkout it runs in (which holds slo.toml and baselines/).
          bench = pkgs.writeShellApplication {
            name = "benchseal-bench";
            runtimeInputs = [ bundle ];
            text = ''
              release=''${BENCHSEAL_RELEASE:-${pins.version}}
              if [ ! -f slo.toml ]; then
                echo "nix run .#bench: run it from a benchseal checkout (no slo.toml in $PWD)" >&2
                exit 2
              fi
              # The closure holds no cargo: slo.toml's release preconditions (fmt, clippy,
              # tests) belong to the checkout's CI and `nix build .#tests`; here the report
              # states them as skipped.
              exec benchseal signoff --version "$release" --skip-preconditions "$@"
            '';
          };
        in
        {
          inherit
            toolchain
            gungraun-runner
            benchseal
            bundle
            bench
            ;
          tests = benchseal.overrideAttrs (_: {
            pname = "benchseal-tests";
            doCheck = true;
            # The whole workspace, as `cargo test --workspace --locked` in CI. The reproducible-
            # build test is #[ignore]d there and here (it exports the git checkout, which the
            # sandbox does not have); .ci/steps/65-reproducible-build.sh runs it.
            cargoTestFlags = [
              "--workspace"
            ];
          });
        };
    in
    {
      packages = forEachSystem (
        pkgs:
        let
          s = perSystem pkgs;
        in
        {
          default = s.bundle;
          inherit (s) benchseal gungraun-runner;
        }
      );

      apps = forEachSystem (
        pkgs:
        let
          s = perSystem pkgs;
        in
        {
          bench = {
            type = "app";
            program = lib.getExe s.bench;
          };
          default = {
            type = "app";
            program = lib.getExe s.benchseal;
          };
        }
      );

      devShells = forEachSystem (
        pkgs:
        let
          s = perSystem pkgs;
        in
        {
          default = pkgs.mkShell {
            packages = [
              s.toolchain
              s.gungraun-runner
              pkgs.valgrind
              pkgs.util-linux
              pkgs.podman
            ];
          };
        }
      );

      checks = forEachSystem (
        pkgs:
        let
          s = perSystem pkgs;
        in
        {
          inherit (s) tests;
          package = s.bundle;
        }
      );
    };
}
