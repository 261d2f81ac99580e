# The versions the flake builds, read from the workspace's own pin files so that the flake, the
# Containerfile and CI cannot drift apart. Builtins only: CI evaluates this file offline
# (`nix-instantiate --eval --strict packaging/nix/pins.nix`), without nixpkgs.
{
  root ? ../..,
}:
let
  readToml = file: builtins.fromTOML (builtins.readFile (root + "/${file}"));
  cargoToml = readToml "Cargo.toml";
  cargoLock = readToml "Cargo.lock";
  toolchainFile = readToml "rust-toolchain.toml";

  lockedVersion =
    name:
    let
      found = builtins.filter (package: package.name == name) cargoLock.package;
    in
    if builtins.length found == 1 then
      (builtins.head found).version
    else
      throw "Cargo.lock must hold exactly one `${name}` package, it holds ${toString (builtins.length found)}";

  gungraunVersion = lockedVersion "gungraun";

  # gungraun-runner from crates.io. `hash` is the NAR hash of the unpacked .crate (what
  # fetchCrate checks); it must change together with `version`.
  runner = {
    version = "0.20.0";
    hash = "sha256-XZHnq0t5XI/lSAdtP0UYxcaaV/YVZOmT/E7YQWX7jOU=";
  };
in
# The runner speaks a private protocol with the library of the same version: a mismatch would
# fail at bench time, so it fails here, at evaluation, with the fix.
assert
  runner.version == gungraunVersion
  || throw (
    "Cargo.lock locks gungraun ${gungraunVersion} but packaging/nix/pins.nix pins gungraun-runner "
    + "${runner.version}: set runner.version = \"${gungraunVersion}\" and update runner.hash "
    + "(outside Nix: cargo install gungraun-runner --version =${gungraunVersion} --locked)"
  );
{
  version = cargoToml.workspace.package.version;
  rustChannel = toolchainFile.toolchain.channel;
  inherit gungraunVersion runner;
}
