//! The Storskog policy as an engine, loaded once per fuzzing process (shared by the targets that
//! evaluate cases, through `#[path]`: each target is a binary of its own).

use std::sync::OnceLock;

use readmit::Engine;

pub fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../policies/storskog");
        match Engine::load(std::path::Path::new(path)) {
            Ok(engine) => engine,
            Err(errors) => panic!("the Storskog policy does not load: {errors:?}"),
        }
    })
}
