//! The design bounded context: applications and libraries, branches, versions, resources,
//! dependencies and config defaults, and builds made from committed versions. Never imports
//! the runtime context; both build on the shared kernel (a tidy test checks it).
