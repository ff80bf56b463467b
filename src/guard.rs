//! A panic inside a library the pipeline calls (prost-reflect, prost-build, tonic-build, syn,
//! prettyplease) becomes an error naming what was being processed, never a crash: a bad input
//! is a response error (docs/reference.md section 2), and so is a bug in a dependency.
//!
//! While [`catch`] runs, a process-wide panic hook (installed once) records the panic on this
//! thread instead of printing it with a backtrace; panics anywhere else print as usual.

use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

thread_local! {
    /// Whether this thread is inside [`catch`].
    static GUARDED: Cell<bool> = const { Cell::new(false) };
    /// The last panic caught on this thread: its message and where it happened.
    static CAUGHT: RefCell<Option<String>> = const { RefCell::new(None) };
    /// What the pipeline is doing, for the error message (set with [`doing`]).
    static DOING: RefCell<String> = const { RefCell::new(String::new()) };
}

fn install_hook() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if GUARDED.with(Cell::get) {
                let message = payload_text(info.payload());
                let text = match info.location() {
                    Some(at) => format!("{message} (at {}:{})", at.file(), at.line()),
                    None => message,
                };
                CAUGHT.with(|caught| *caught.borrow_mut() = Some(text));
            } else {
                previous(info);
            }
        }));
    });
}

fn payload_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic with no message".to_owned()
    }
}

/// Says what the pipeline is working on (a file, a package), so a panic caught by the
/// enclosing [`catch`] names it. Nested calls replace the text until that `catch` returns.
pub(crate) fn doing(what: impl Into<String>) {
    DOING.with(|doing| *doing.borrow_mut() = what.into());
}

/// Runs `f`; a panic in it becomes `Err("<what>: internal error: ... panicked: <message>")`,
/// where `what` is the latest [`doing`] text, else `default_what`.
pub(crate) fn catch<T>(default_what: &str, f: impl FnOnce() -> T) -> Result<T, String> {
    install_hook();
    let was_guarded = GUARDED.with(|g| g.replace(true));
    let outer_doing = DOING.with(|d| d.replace(default_what.to_owned()));
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    GUARDED.with(|g| g.set(was_guarded));
    let what = DOING.with(|d| d.replace(outer_doing));
    result.map_err(|payload| {
        let message = CAUGHT
            .with(|caught| caught.borrow_mut().take())
            .unwrap_or_else(|| payload_text(&*payload));
        format!(
            "{what}: internal error: a library the plugin uses panicked: {message}; \
             please report it with this file"
        )
    })
}

/// A panic caught by [`on_worker`]: its message and where it happened.
#[derive(Debug)]
pub(crate) struct Panicked(String);

/// Runs `f`, a share of the work of a [`catch`] running on another thread (or this one). A panic
/// in it is recorded rather than printed and handed back, for [`resume`] to raise again on the
/// thread of that `catch`, which reports it as if it had happened there.
pub(crate) fn on_worker<T>(f: impl FnOnce() -> T) -> Result<T, Panicked> {
    install_hook();
    let was_guarded = GUARDED.with(|g| g.replace(true));
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    GUARDED.with(|g| g.set(was_guarded));
    result.map_err(|payload| {
        Panicked(
            CAUGHT
                .with(|caught| caught.borrow_mut().take())
                .unwrap_or_else(|| payload_text(&*payload)),
        )
    })
}

/// Raises a panic [`on_worker`] caught again, on the thread of the enclosing [`catch`] (the
/// panic hook does not run a second time).
pub(crate) fn resume(panicked: Panicked) -> ! {
    panic::resume_unwind(Box::new(panicked.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_an_error_naming_what_was_being_processed() {
        let err = catch("a.proto", || {
            doing("a.proto: package `a` (prost-build)");
            panic!("index out of bounds");
        })
        .unwrap_err();
        assert!(
            err.starts_with("a.proto: package `a` (prost-build): internal error:"),
            "{err}"
        );
        assert!(
            err.contains("index out of bounds (at src/guard.rs:"),
            "{err}"
        );
        // The thread is no longer guarded: its context is back to empty.
        assert!(!GUARDED.with(Cell::get));
        assert_eq!(DOING.with(|d| d.borrow().clone()), "");
    }

    #[test]
    fn a_panic_on_a_worker_thread_is_reported_by_the_enclosing_catch() {
        let err = catch("a.proto", || {
            let caught = std::thread::scope(|scope| {
                scope
                    .spawn(|| on_worker(|| panic!("index out of bounds")))
                    .join()
                    .unwrap()
            });
            doing("a.proto: package `a`");
            resume(caught.unwrap_err())
        })
        .unwrap_err();
        assert!(
            err.starts_with("a.proto: package `a`: internal error: a library the plugin uses panicked: index out of bounds (at src/guard.rs:"),
            "{err}"
        );
        assert_eq!(on_worker(|| 7).unwrap(), 7);
    }

    #[test]
    fn no_panic_gives_the_value() {
        assert_eq!(catch("x", || 7), Ok(7));
    }

    #[test]
    fn nested_catches_restore_the_outer_context() {
        let outer = catch("outer.proto", || {
            let inner = catch("inner.proto", || panic!("boom"));
            assert!(inner.unwrap_err().starts_with("inner.proto:"));
            assert!(GUARDED.with(Cell::get));
            panic!("again")
        });
        assert!(outer.unwrap_err().starts_with("outer.proto:"));
    }
}
