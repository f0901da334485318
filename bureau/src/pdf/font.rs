//! The one font of a report: a CJK TrueType/OpenType face (or a face of a
//! collection) read from the bureau's machine, embedded as a subset of the
//! glyphs the document uses, so the PDF renders the same on any reader.
//!
//! Written as a composite (Type0) font with Identity-H encoding: the text in
//! content streams is two-byte glyph ids of the subset, the `ToUnicode` map
//! gives each back its character (what copy-paste and `pdftotext` read).

use super::compressed;
use crate::error::{Error, Result};
use pdf_writer::types::{CidFontType, FontFlags, SystemInfo, UnicodeCmap};
use pdf_writer::{Finish, Name, Pdf, Rect, Ref, Str};
use std::collections::BTreeMap;
use subsetter::GlyphRemapper;
use ttf_parser::{name_id, Face, GlyphId};

/// The character shown where the face has no glyph for one: the subset keeps
/// glyph 0 (`.notdef`), the text layer keeps the character itself.
const MISSING: u16 = 0;

pub struct Font<'a> {
    data: &'a [u8],
    index: u32,
    face: Face<'a>,
    /// Original glyph id → subset glyph id (what the content streams hold).
    glyphs: GlyphRemapper,
    /// Subset glyph id → the character it was used for.
    chars: BTreeMap<u16, char>,
}

impl<'a> Font<'a> {
    /// The face in `data` that reads Simplified Chinese best: in a collection,
    /// the first whose family names it (Noto's `… CJK SC`), else the first.
    pub fn parse(data: &'a [u8]) -> Result<Self> {
        let count = ttf_parser::fonts_in_collection(data).unwrap_or(1);
        let index = (0..count)
            .find(|&i| {
                Face::parse(data, i)
                    .map(|face| family(&face).is_some_and(|f| f.ends_with(" SC")))
                    .unwrap_or(false)
            })
            .unwrap_or(0);
        let face = Face::parse(data, index).map_err(|e| font_error(e.to_string()))?;
        if face.glyph_index('检').is_none() {
            return Err(font_error("the font has no Chinese characters".into()));
        }
        Ok(Self {
            data,
            index,
            face,
            glyphs: GlyphRemapper::new(),
            chars: BTreeMap::new(),
        })
    }

    /// The width of `text` at `size` points.
    pub fn width(&self, text: &str, size: f32) -> f32 {
        text.chars().map(|c| self.advance(c)).sum::<f32>() * size
    }

    /// One character's advance, in ems.
    pub fn advance(&self, c: char) -> f32 {
        let glyph = self.face.glyph_index(c).unwrap_or(GlyphId(MISSING));
        self.glyph_advance(glyph.0)
    }

    fn glyph_advance(&self, glyph: u16) -> f32 {
        let units = self.face.glyph_hor_advance(GlyphId(glyph)).unwrap_or(0);
        f32::from(units) / f32::from(self.face.units_per_em())
    }

    /// `text` as the content stream shows it: big-endian subset glyph ids.
    pub fn encode(&mut self, text: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(text.len() * 2);
        for c in text.chars() {
            let original = self.face.glyph_index(c).map_or(MISSING, |g| g.0);
            let glyph = self.glyphs.remap(original);
            if original != MISSING {
                self.chars.entry(glyph).or_insert(c);
            }
            out.extend_from_slice(&glyph.to_be_bytes());
        }
        out
    }

    /// Writes the font objects, `type0` being the one pages refer to.
    pub fn embed(&self, pdf: &mut Pdf, type0: Ref, next: &mut impl FnMut() -> Ref) -> Result<()> {
        let (cid, descriptor, file, cmap) = (next(), next(), next(), next());
        let subset = subsetter::subset(self.data, self.index, &self.glyphs)
            .map_err(|e| font_error(format!("subsetting failed: {e}")))?;
        let cff = self.face.tables().cff.is_some();
        let name = format!("{}+{}", self.subset_tag(), self.postscript_name());
        let system_info = SystemInfo {
            registry: Str(b"Adobe"),
            ordering: Str(b"Identity"),
            supplement: 0,
        };

        pdf.type0_font(type0)
            .base_font(Name(name.as_bytes()))
            .encoding_predefined(Name(b"Identity-H"))
            .descendant_font(cid)
            .to_unicode(cmap);

        let mut font = pdf.cid_font(cid);
        font.subtype(if cff {
            CidFontType::Type0
        } else {
            CidFontType::Type2
        })
        .base_font(Name(name.as_bytes()))
        .system_info(system_info)
        .font_descriptor(descriptor)
        .default_width(1000.0);
        if !cff {
            font.cid_to_gid_map_predefined(Name(b"Identity"));
        }
        let widths: Vec<f32> = self
            .glyphs
            .remapped_gids()
            .map(|g| self.glyph_advance(g) * 1000.0)
            .collect();
        font.widths().consecutive(0, widths);
        font.finish();

        let scale = 1000.0 / f32::from(self.face.units_per_em());
        let b = self.face.global_bounding_box();
        let mut d = pdf.font_descriptor(descriptor);
        d.name(Name(name.as_bytes()))
            .flags(FontFlags::SYMBOLIC)
            .bbox(Rect::new(
                f32::from(b.x_min) * scale,
                f32::from(b.y_min) * scale,
                f32::from(b.x_max) * scale,
                f32::from(b.y_max) * scale,
            ))
            .italic_angle(self.face.italic_angle())
            .ascent(f32::from(self.face.ascender()) * scale)
            .descent(f32::from(self.face.descender()) * scale)
            .cap_height(
                f32::from(self.face.capital_height().unwrap_or(self.face.ascender())) * scale,
            )
            .stem_v(80.0);
        if cff {
            d.font_file3(file);
        } else {
            d.font_file2(file);
        }
        d.finish();

        let data = compressed(&subset);
        let mut stream = pdf.stream(file, &data);
        stream.filter(pdf_writer::Filter::FlateDecode);
        if cff {
            stream.pair(Name(b"Subtype"), Name(b"OpenType"));
        }
        stream.finish();

        let mut map = UnicodeCmap::new(Name(b"Custom"), system_info);
        for (&glyph, &c) in &self.chars {
            map.pair(glyph, c);
        }
        let map = compressed(map.finish().as_slice());
        pdf.cmap(cmap, &map).filter(pdf_writer::Filter::FlateDecode);
        Ok(())
    }

    fn postscript_name(&self) -> String {
        self.face
            .names()
            .into_iter()
            .find(|n| n.name_id == name_id::POST_SCRIPT_NAME && n.is_unicode())
            .and_then(|n| n.to_string())
            .map(|n| {
                n.chars()
                    .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
                    .collect()
            })
            .filter(|n: &String| !n.is_empty())
            .unwrap_or_else(|| "CJK".into())
    }

    /// Six capitals derived from the glyph set, as PDF asks of a subset's name.
    fn subset_tag(&self) -> String {
        let mut h: u32 = 2_166_136_261;
        for g in self.glyphs.remapped_gids() {
            for b in g.to_be_bytes() {
                h = (h ^ u32::from(b)).wrapping_mul(16_777_619);
            }
        }
        (0..6)
            .map(|i| char::from(b'A' + ((h >> (i * 5)) % 26) as u8))
            .collect()
    }
}

fn family(face: &Face) -> Option<String> {
    face.names()
        .into_iter()
        .find(|n| n.name_id == name_id::FAMILY && n.is_unicode())
        .and_then(|n| n.to_string())
}

fn font_error(reason: String) -> Error {
    Error::ReportFont { reason }
}
