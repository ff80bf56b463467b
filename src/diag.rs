//! User mistakes found while building the model: collected, never printed and ignored, and
//! reported together.

use std::fmt;

use crate::source::Location;

/// One problem in the input, located.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub location: Location,
    /// The fully-qualified element, e.g. `acme.shop.v1.OrderService.GetOrder`.
    pub element: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.location, self.element, self.message)
    }
}

/// Errors and warnings collected over a whole request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnostics {
    pub errors: Vec<Diagnostic>,
    pub warnings: Vec<Diagnostic>,
}

impl Diagnostics {
    pub fn error(&mut self, location: &Location, element: &str, message: impl Into<String>) {
        self.errors.push(Diagnostic {
            location: location.clone(),
            element: element.to_owned(),
            message: message.into(),
        });
    }

    pub fn warning(&mut self, location: &Location, element: &str, message: impl Into<String>) {
        self.warnings.push(Diagnostic {
            location: location.clone(),
            element: element.to_owned(),
            message: message.into(),
        });
    }
}
