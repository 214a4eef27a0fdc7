//! Parses `MyType: instance, flavor` by hand, without syn.

use proc_macro::{Delimiter, Group, Ident, Literal, Punct, Spacing, Span, TokenStream, TokenTree};

/// One of the SPIs a plugin can export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spi {
    Instance,
    Flavor,
    Group,
}

impl Spi {
    /// The SPI's name as written in the macro and in WIT.
    pub fn name(self) -> &'static str {
        match self {
            Spi::Instance => "instance",
            Spi::Flavor => "flavor",
            Spi::Group => "group",
        }
    }

    /// The SDK trait that implements the SPI, as a path for the expansion.
    pub fn trait_path(self) -> &'static str {
        match self {
            Spi::Instance => "::deploykit_sdk::InstancePlugin",
            Spi::Flavor => "::deploykit_sdk::FlavorPlugin",
            Spi::Group => "::deploykit_sdk::GroupPlugin",
        }
    }

    fn from_name(name: &str) -> Option<Spi> {
        [Spi::Instance, Spi::Flavor, Spi::Group]
            .into_iter()
            .find(|s| s.name() == name)
    }
}

/// What to export: the plugin type's path (its original tokens) and the SPIs.
pub struct Request {
    pub plugin: TokenStream,
    pub spis: Vec<Spi>,
}

/// A syntax error with the span it points at.
pub struct ParseError {
    span: Span,
    message: String,
}

impl ParseError {
    fn new(span: Span, message: impl Into<String>) -> Self {
        ParseError {
            span,
            message: message.into(),
        }
    }

    /// `compile_error!("…");` pointing at the offending token.
    pub fn into_compile_error(self) -> TokenStream {
        let span = self.span;
        let mut message = Literal::string(&self.message);
        message.set_span(span);
        let mut args = Group::new(Delimiter::Parenthesis, TokenTree::Literal(message).into());
        args.set_span(span);
        let mut bang = Punct::new('!', Spacing::Alone);
        bang.set_span(span);
        let mut semi = Punct::new(';', Spacing::Alone);
        semi.set_span(span);
        [
            TokenTree::Ident(Ident::new("compile_error", span)),
            TokenTree::Punct(bang),
            TokenTree::Group(args),
            TokenTree::Punct(semi),
        ]
        .into_iter()
        .collect()
    }
}

const USAGE: &str = "expected `export_plugin!(MyPlugin: instance, flavor, group)` \
     (a type path, a colon, then one or more of instance, flavor, group)";

/// Parses `path::To::Type: spi, spi, …` with an optional trailing comma.
pub fn parse(input: TokenStream) -> Result<Request, ParseError> {
    let tokens: Vec<TokenTree> = input.into_iter().collect();
    let (plugin, rest) = parse_path(&tokens)?;
    let spis = parse_spis(rest)?;
    Ok(Request { plugin, spis })
}

/// Reads idents joined by `::` up to the lone `:`; returns the path and what follows the colon.
fn parse_path(tokens: &[TokenTree]) -> Result<(TokenStream, &[TokenTree]), ParseError> {
    let mut path = Vec::new();
    let mut expect_ident = true;
    let mut i = 0;
    while i < tokens.len() {
        match &tokens[i] {
            TokenTree::Punct(p) if p.as_char() == ':' && is_path_sep(tokens, i) => {
                if expect_ident && !path.is_empty() {
                    return Err(ParseError::new(p.span(), "expected a name after `::`"));
                }
                path.extend_from_slice(&tokens[i..i + 2]);
                expect_ident = true;
                i += 2;
            }
            TokenTree::Punct(p) if p.as_char() == ':' => {
                if path.is_empty() || expect_ident {
                    return Err(ParseError::new(
                        p.span(),
                        "expected the plugin's type before `:`",
                    ));
                }
                return Ok((path.into_iter().collect(), &tokens[i + 1..]));
            }
            TokenTree::Ident(id) if expect_ident => {
                path.push(TokenTree::Ident(id.clone()));
                expect_ident = false;
                i += 1;
            }
            other => {
                let message = if matches!(other, TokenTree::Punct(p) if p.as_char() == '<') {
                    "generic plugin types are not supported: name a concrete type \
                     (a type alias works)"
                } else {
                    USAGE
                };
                return Err(ParseError::new(other.span(), message));
            }
        }
    }
    let span = tokens.last().map_or_else(Span::call_site, TokenTree::span);
    Err(ParseError::new(span, USAGE))
}

/// True when `tokens[i]` and `tokens[i + 1]` are the two colons of `::`.
fn is_path_sep(tokens: &[TokenTree], i: usize) -> bool {
    let joint = matches!(&tokens[i], TokenTree::Punct(p) if p.spacing() == Spacing::Joint);
    joint && matches!(tokens.get(i + 1), Some(TokenTree::Punct(p)) if p.as_char() == ':')
}

/// Reads `spi, spi, …`; refuses unknown and repeated names and an empty list.
fn parse_spis(tokens: &[TokenTree]) -> Result<Vec<Spi>, ParseError> {
    let mut spis = Vec::new();
    let mut expect_name = true;
    for token in tokens {
        match token {
            TokenTree::Ident(id) if expect_name => {
                let name = id.to_string();
                let spi = Spi::from_name(&name).ok_or_else(|| {
                    ParseError::new(
                        id.span(),
                        format!("unknown SPI `{name}`: expected instance, flavor or group"),
                    )
                })?;
                if spis.contains(&spi) {
                    return Err(ParseError::new(
                        id.span(),
                        format!("SPI `{name}` is named twice"),
                    ));
                }
                spis.push(spi);
                expect_name = false;
            }
            TokenTree::Punct(p) if p.as_char() == ',' && !expect_name => expect_name = true,
            other => return Err(ParseError::new(other.span(), USAGE)),
        }
    }
    if spis.is_empty() {
        let span = tokens.last().map_or_else(Span::call_site, TokenTree::span);
        return Err(ParseError::new(
            span,
            "name at least one SPI after the colon: instance, flavor or group",
        ));
    }
    Ok(spis)
}
