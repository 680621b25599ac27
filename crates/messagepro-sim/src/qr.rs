//! `get/wa.qr` image: the QR string encoded with the `qrcode` crate (low error correction,
//! no quiet zone) and rendered as a 500×500 8-bit greyscale PNG with the `png` crate.

use qrcode::{Color, EcLevel, QrCode};

/// Side of the image in pixels (2.2.10).
pub const SIZE: u32 = 500;

/// Renders `data` as a PNG, or `None` when it cannot be encoded.
pub fn png(data: &str) -> Option<Vec<u8>> {
    let code = QrCode::with_error_correction_level(data.as_bytes(), EcLevel::L).ok()?;
    let w = code.width();
    let colors = code.to_colors();
    let mut pixels = vec![255u8; (SIZE * SIZE) as usize];
    for y in 0..SIZE as usize {
        let my = y * w / SIZE as usize;
        for x in 0..SIZE as usize {
            let mx = x * w / SIZE as usize;
            if colors[my * w + mx] == Color::Dark {
                pixels[y * SIZE as usize + x] = 0;
            }
        }
    }
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, SIZE, SIZE);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header().ok()?;
        writer.write_image_data(&pixels).ok()?;
    }
    Some(out)
}
