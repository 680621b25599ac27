//! Integration tests of the client against wiremock: exact request shapes, error mapping,
//! decoding of realistic fixtures, paging, retries, and secret hygiene.

mod decoding;
mod errors;
mod helpers;
mod paging;
mod secrets;
mod transport;
mod wire_shape;
