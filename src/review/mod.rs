//! The review-service API, the kiosk's upload client with its durable outbox, and the
//! reference review centre (issue #6). Not implemented yet.

pub mod cli;
