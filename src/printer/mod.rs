//! ESC/POS encoder, serial transport, status decoding, print journal, paper counters
//! (issue #5). Not implemented yet.
