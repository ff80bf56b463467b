//! Method dispatch: which of the routes matching a path serves the request's method, and the
//! methods a 405 lists.

use std::ops::ControlFlow;

use http::Method;

use super::decode::Path;
use super::Matcher;

/// The methods a route answers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MethodFilter {
    /// Exactly this method (GET routes also answer HEAD when no HEAD route does).
    Is(Method),
    /// Every method: the `custom` kind `*`.
    Any,
}

impl MethodFilter {
    /// The filter for the kind of a `custom` HTTP rule: `*` is [`MethodFilter::Any`], anything
    /// else the method of that name. `None` if the name is not a valid method token.
    ///
    /// ```
    /// use rs_svc::http::matcher::MethodFilter;
    ///
    /// assert_eq!(MethodFilter::custom("*"), Some(MethodFilter::Any));
    /// assert_eq!(MethodFilter::custom("HEAD"), Some(MethodFilter::Is(http::Method::HEAD)));
    /// assert_eq!(MethodFilter::custom("NOT A METHOD"), None);
    /// ```
    pub fn custom(kind: &str) -> Option<MethodFilter> {
        match kind {
            "*" => Some(MethodFilter::Any),
            _ => Method::from_bytes(kind.as_bytes())
                .ok()
                .map(MethodFilter::Is),
        }
    }
}

impl From<Method> for MethodFilter {
    fn from(method: Method) -> MethodFilter {
        MethodFilter::Is(method)
    }
}

impl<R> Matcher<R> {
    /// The route of `ends` with verb `verb` that serves `method`, if any. Sets `matched` when
    /// some route of `ends` matches, whatever its method.
    pub(super) fn pick(
        &self,
        path: &Path<'_>,
        ends: &[usize],
        verb: Option<&[u8]>,
        method: &Method,
        multi_at: Option<usize>,
        matched: &mut bool,
    ) -> ControlFlow<usize> {
        let mut any = None;
        let mut get = None;
        for &index in ends {
            let entry = &self.routes[index];
            if entry.verb.as_deref() != verb || !self.fits(index, path, multi_at) {
                continue;
            }
            *matched = true;
            match &entry.method {
                MethodFilter::Is(m) if m == method => return ControlFlow::Break(index),
                MethodFilter::Any => any = any.or(Some(index)),
                MethodFilter::Is(m) if *m == Method::GET && *method == Method::HEAD => {
                    get = get.or(Some(index))
                }
                MethodFilter::Is(_) => {}
            }
        }
        match any.or(get) {
            Some(index) => ControlFlow::Break(index),
            None => ControlFlow::Continue(()),
        }
    }

    /// Adds to `allow` the method of every route with verb `verb` matching `path`.
    pub(super) fn collect_methods(
        &self,
        path: &Path<'_>,
        verb: Option<&[u8]>,
        allow: &mut Vec<Method>,
    ) {
        let _ = self.walk(path, 0, 0, &mut |ends, multi_at| {
            for &index in ends {
                let entry = &self.routes[index];
                if entry.verb.as_deref() != verb || !self.fits(index, path, multi_at) {
                    continue;
                }
                if let MethodFilter::Is(method) = &entry.method {
                    allow.push(method.clone());
                }
            }
            ControlFlow::<()>::Continue(())
        });
    }
}
