//! The allow-list of attachment types: by extension, then by the first bytes where a signature is cheap to check.
//! The content type recorded is the one of the allow-list, never the browser's claim.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Magic {
    Pdf,
    Png,
    Jpeg,
    Gif,
    Tiff,
    Webp,
    Bmp,
    /// ZIP container: docx, xlsx, pptx, odt, ods, odp, zip.
    Zip,
    /// OLE2 compound file: doc, xls, ppt, msg.
    Ole,
    Rtf,
    /// Text without NUL bytes: txt, csv, eml, xml, json, md.
    Text,
    /// ISO base media (`ftyp` at offset 4): mp4, m4a, mov, heic, 3gp.
    Ftyp,
    Mp3,
    Wav,
    Avi,
    Ogg,
    /// Matroska / WebM.
    Ebml,
    Flac,
    /// No cheap signature (or too many variants): the extension alone decides.
    Any,
}

const KINDS: &[(&str, &str, Magic)] = &[
    ("pdf", "application/pdf", Magic::Pdf),
    ("png", "image/png", Magic::Png),
    ("jpg", "image/jpeg", Magic::Jpeg),
    ("jpeg", "image/jpeg", Magic::Jpeg),
    ("gif", "image/gif", Magic::Gif),
    ("tif", "image/tiff", Magic::Tiff),
    ("tiff", "image/tiff", Magic::Tiff),
    ("webp", "image/webp", Magic::Webp),
    ("bmp", "image/bmp", Magic::Bmp),
    ("heic", "image/heic", Magic::Ftyp),
    ("doc", "application/msword", Magic::Ole),
    ("xls", "application/vnd.ms-excel", Magic::Ole),
    ("ppt", "application/vnd.ms-powerpoint", Magic::Ole),
    ("msg", "application/vnd.ms-outlook", Magic::Ole),
    (
        "docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        Magic::Zip,
    ),
    (
        "xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        Magic::Zip,
    ),
    (
        "pptx",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        Magic::Zip,
    ),
    ("odt", "application/vnd.oasis.opendocument.text", Magic::Zip),
    (
        "ods",
        "application/vnd.oasis.opendocument.spreadsheet",
        Magic::Zip,
    ),
    (
        "odp",
        "application/vnd.oasis.opendocument.presentation",
        Magic::Zip,
    ),
    ("zip", "application/zip", Magic::Zip),
    ("rtf", "application/rtf", Magic::Rtf),
    ("txt", "text/plain", Magic::Text),
    ("csv", "text/csv", Magic::Text),
    ("md", "text/markdown", Magic::Text),
    ("xml", "application/xml", Magic::Text),
    ("json", "application/json", Magic::Text),
    ("eml", "message/rfc822", Magic::Text),
    ("mp3", "audio/mpeg", Magic::Mp3),
    ("wav", "audio/wav", Magic::Wav),
    ("m4a", "audio/mp4", Magic::Ftyp),
    ("ogg", "audio/ogg", Magic::Ogg),
    ("oga", "audio/ogg", Magic::Ogg),
    ("opus", "audio/ogg", Magic::Ogg),
    ("flac", "audio/flac", Magic::Flac),
    ("amr", "audio/amr", Magic::Any),
    ("mp4", "video/mp4", Magic::Ftyp),
    ("mov", "video/quicktime", Magic::Ftyp),
    ("3gp", "video/3gpp", Magic::Ftyp),
    ("avi", "video/x-msvideo", Magic::Avi),
    ("mkv", "video/x-matroska", Magic::Ebml),
    ("webm", "video/webm", Magic::Ebml),
    ("mpg", "video/mpeg", Magic::Any),
    ("mpeg", "video/mpeg", Magic::Any),
];

/// The extensions accepted, for the upload form's hint (`accept` attribute and help text).
pub fn allowed_extensions() -> Vec<&'static str> {
    KINDS.iter().map(|(e, _, _)| *e).collect()
}

/// How many leading bytes [`check_magic`] wants to see (fewer at end of file).
pub const SNIFF_LEN: usize = 4096;

/// An accepted type, decided from the file name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Kind {
    pub extension: &'static str,
    pub content_type: &'static str,
    magic: Magic,
}

/// The kind of a file name, if its extension is allowed.
pub fn kind_of(filename: &str) -> Option<Kind> {
    let ext = filename.rsplit_once('.')?.1.to_ascii_lowercase();
    KINDS
        .iter()
        .find(|(e, _, _)| *e == ext)
        .map(|(e, ct, m)| Kind {
            extension: e,
            content_type: ct,
            magic: *m,
        })
}

impl Kind {
    /// Whether the first bytes of the file match the extension.
    pub fn check_magic(&self, head: &[u8]) -> bool {
        let at = |off: usize, sig: &[u8]| {
            head.len() >= off + sig.len() && &head[off..off + sig.len()] == sig
        };
        match self.magic {
            Magic::Pdf => {
                head.len() >= 5
                    && head[..head.len().min(1024)]
                        .windows(5)
                        .any(|w| w == b"%PDF-")
            }
            Magic::Png => at(0, b"\x89PNG\r\n\x1a\n"),
            Magic::Jpeg => at(0, b"\xff\xd8\xff"),
            Magic::Gif => at(0, b"GIF87a") || at(0, b"GIF89a"),
            Magic::Tiff => at(0, b"II*\0") || at(0, b"MM\0*"),
            Magic::Webp => at(0, b"RIFF") && at(8, b"WEBP"),
            Magic::Bmp => at(0, b"BM"),
            Magic::Zip => at(0, b"PK\x03\x04") || at(0, b"PK\x05\x06"),
            Magic::Ole => at(0, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"),
            Magic::Rtf => at(0, b"{\\rtf"),
            Magic::Text => !head.contains(&0) && !at(0, b"MZ") && !at(0, b"\x7fELF"),
            Magic::Ftyp => at(4, b"ftyp"),
            Magic::Mp3 => {
                at(0, b"ID3") || (head.len() >= 2 && head[0] == 0xff && head[1] & 0xe0 == 0xe0)
            }
            Magic::Wav => at(0, b"RIFF") && at(8, b"WAVE"),
            Magic::Avi => at(0, b"RIFF") && at(8, b"AVI "),
            Magic::Ogg => at(0, b"OggS"),
            Magic::Ebml => at(0, b"\x1a\x45\xdf\xa3"),
            Magic::Flac => at(0, b"fLaC"),
            // Executables are refused whatever their name.
            Magic::Any => !at(0, b"MZ") && !at(0, b"\x7fELF") && !at(0, b"#!"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extension_and_signature_must_agree() {
        let pdf = kind_of("Procès-verbal.PDF").unwrap();
        assert_eq!(pdf.content_type, "application/pdf");
        assert!(pdf.check_magic(b"%PDF-1.7\n..."));
        assert!(!pdf.check_magic(b"MZ\x90\0"));
        let docx = kind_of("rapport.docx").unwrap();
        assert!(docx.check_magic(b"PK\x03\x04rest"));
        assert!(!docx.check_magic(b"%PDF-1.4"));
        let txt = kind_of("notes.txt").unwrap();
        assert!(txt.check_magic("Bonjour à tous".as_bytes()));
        assert!(!txt.check_magic(b"MZ\x90\0\x03"));
        assert!(!txt.check_magic(b"abc\0def"));
        assert!(kind_of("video.mp4")
            .unwrap()
            .check_magic(b"\0\0\0\x18ftypmp42"));
        assert!(kind_of("photo.jpeg")
            .unwrap()
            .check_magic(b"\xff\xd8\xff\xe0"));
        assert!(kind_of("courriel.msg")
            .unwrap()
            .check_magic(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"));
        for refused in [
            "virus.exe",
            "script.js",
            "page.html",
            "x.svg",
            "sans-extension",
            "a.bat",
            ".zip.sh",
        ] {
            assert!(kind_of(refused).is_none(), "{refused}");
        }
    }
}
