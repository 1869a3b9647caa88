//! The use cases over the in-memory fakes: one module per service, data builders in `helpers`.

mod builds;
mod config;
mod helpers;
mod policies;
mod relay;
mod runtime;
