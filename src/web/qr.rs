//! QR codes, drawn by the server as SVG: no outside service ever sees what they encode.

use qrcode::{QrCode, render::svg};

use super::form::url_encode;

/// A `data:` address of an SVG image of `text` as a QR code, at least `size` pixels square.
pub fn qr_code(text: &str, size: u32) -> anyhow::Result<String> {
    let svg = QrCode::new(text.as_bytes())?
        .render::<svg::Color>()
        .min_dimensions(size, size)
        .build();
    Ok(format!("data:image/svg+xml,{}", url_encode(&svg)))
}
