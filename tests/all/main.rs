//! One integration test binary, one module per concern.

/// Faults in one plugin: precise errors, recovery, and no harm to others.
mod isolation;
/// Loading a folder with bad files, unknown plugins, missing SPIs.
mod loading;
/// Every SPI operation of the samples, and the InfraKit wire samples as golden cases.
mod spis;
