//! The `export_plugin!` macro of `deploykit-sdk`; use it through `deploykit_sdk::export_plugin!`.

mod expand;
mod parse;

use proc_macro::TokenStream;

/// Exports a plugin type as a WebAssembly component implementing the named
/// SPIs: `export_plugin!(MyPlugin: instance, flavor)`.
///
/// See `deploykit_sdk::export_plugin!` for the full documentation.
#[proc_macro]
pub fn export_plugin(input: TokenStream) -> TokenStream {
    match parse::parse(input) {
        Ok(request) => expand::expand(&request),
        Err(error) => error.into_compile_error(),
    }
}
