//! Offline tests: names, validation and each protocol's serialisation.
