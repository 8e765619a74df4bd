//! REP-2016 type hashes (`RIHS01_<sha256>`) computed from a message's `ros2msg` definition.
//!
//! The hash is the SHA-256 of a JSON type description: the type's fields (name, `type_id`,
//! array capacity, string capacity, nested type name) and, sorted by name, every type it
//! references. Default values, constants and comments do not take part. The JSON is written
//! exactly as `rosidl` writes it (`", "` and `": "` separators, fields in declaration order).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use sha2::{Digest, Sha256};

use crate::error::{BridgeError, Result};

/// The separator line between a definition's blocks (rosbag2's schema text).
const BLOCK_SEPARATOR: &str =
    "================================================================================";

/// A REP-2016 type hash, version 1.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TypeHash(pub [u8; 32]);

impl fmt::Display for TypeHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RIHS01_")?;
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for TypeHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::str::FromStr for TypeHash {
    type Err = BridgeError;

    fn from_str(text: &str) -> Result<Self> {
        let bad = |reason: &str| BridgeError::TypeDescription {
            type_name: text.to_owned(),
            reason: reason.to_owned(),
        };
        let hex = text
            .strip_prefix("RIHS01_")
            .ok_or_else(|| bad("a type hash starts with RIHS01_"))?;
        if hex.len() != 64 || !hex.is_ascii() {
            return Err(bad("a RIHS01 hash has 64 hex digits"));
        }
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16)
                .map_err(|_| bad("not a hex digit"))?;
        }
        Ok(Self(out))
    }
}

/// The DDS name of a ROS 2 type as rmw_zenoh puts it in key expressions:
/// `std_msgs/msg/String` → `std_msgs::msg::dds_::String_`.
pub fn dds_type_name(type_name: &str) -> Result<String> {
    match type_name.split('/').collect::<Vec<_>>()[..] {
        [package, kind, name] if !package.is_empty() && !name.is_empty() => {
            Ok(format!("{package}::{kind}::dds_::{name}_"))
        }
        _ => Err(BridgeError::TypeDescription {
            type_name: type_name.to_owned(),
            reason: "expected <package>/<msg|srv>/<Name>".into(),
        }),
    }
}

/// One field of a type description.
struct Field {
    name: String,
    type_id: u32,
    capacity: u64,
    string_capacity: u64,
    nested: String,
}

/// Compute the RIHS01 hash of `type_name` from its definition with dependencies (the main
/// block, then `MSG: pkg/Name` blocks separated by `=`×80 lines, as rosbag2 stores schemas).
pub fn type_hash(type_name: &str, definition: &str) -> Result<TypeHash> {
    let blocks = parse_blocks(type_name, definition)?;
    let mut referenced = BTreeSet::new();
    collect_references(type_name, &blocks, &mut referenced)?;
    referenced.remove(type_name);
    let mut json = String::from("{\"type_description\": ");
    write_struct(&mut json, type_name, &blocks[type_name]);
    json.push_str(", \"referenced_type_descriptions\": [");
    for (i, name) in referenced.iter().enumerate() {
        if i > 0 {
            json.push_str(", ");
        }
        write_struct(&mut json, name, &blocks[name.as_str()]);
    }
    json.push_str("]}");
    Ok(TypeHash(Sha256::digest(json.as_bytes()).into()))
}

fn collect_references(
    name: &str,
    blocks: &BTreeMap<String, Vec<Field>>,
    seen: &mut BTreeSet<String>,
) -> Result<()> {
    if !seen.insert(name.to_owned()) {
        return Ok(());
    }
    let fields = blocks
        .get(name)
        .ok_or_else(|| BridgeError::TypeDescription {
            type_name: name.to_owned(),
            reason: "referenced but not defined in the definition text".into(),
        })?;
    for field in fields.iter().filter(|f| !f.nested.is_empty()) {
        collect_references(&field.nested, blocks, seen)?;
    }
    Ok(())
}

fn write_struct(json: &mut String, name: &str, fields: &[Field]) {
    use std::fmt::Write as _;
    let _ = write!(json, "{{\"type_name\": \"{name}\", \"fields\": [");
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            json.push_str(", ");
        }
        let _ = write!(
            json,
            "{{\"name\": \"{}\", \"type\": {{\"type_id\": {}, \"capacity\": {}, \"string_capacity\": {}, \"nested_type_name\": \"{}\"}}}}",
            f.name, f.type_id, f.capacity, f.string_capacity, f.nested
        );
    }
    json.push_str("]}");
}

fn parse_blocks(type_name: &str, definition: &str) -> Result<BTreeMap<String, Vec<Field>>> {
    let mut blocks = BTreeMap::new();
    for (i, block) in definition.split(BLOCK_SEPARATOR).enumerate() {
        let mut lines = block.lines().peekable();
        let name = if i == 0 {
            type_name.to_owned()
        } else {
            while lines.peek().is_some_and(|l| l.trim().is_empty()) {
                lines.next();
            }
            let header = lines.next().unwrap_or_default().trim();
            let short =
                header
                    .strip_prefix("MSG: ")
                    .ok_or_else(|| BridgeError::TypeDescription {
                        type_name: type_name.to_owned(),
                        reason: format!(
                            "block {i} starts with {header:?}, expected `MSG: pkg/Name`"
                        ),
                    })?;
            full_name(short, "")
        };
        let package = name.split('/').next().unwrap_or_default().to_owned();
        let mut fields = Vec::new();
        for line in lines {
            if let Some(field) =
                parse_field(line, &package).map_err(|reason| BridgeError::TypeDescription {
                    type_name: name.clone(),
                    reason: format!("{reason} in line {line:?}"),
                })?
            {
                fields.push(field);
            }
        }
        if fields.is_empty() {
            fields.push(Field {
                name: "structure_needs_at_least_one_member".into(),
                type_id: 3,
                capacity: 0,
                string_capacity: 0,
                nested: String::new(),
            });
        }
        blocks.insert(name, fields);
    }
    Ok(blocks)
}

/// `pkg/Name` → `pkg/msg/Name`; a bare `Name` lives in `package`.
fn full_name(short: &str, package: &str) -> String {
    match short.split('/').collect::<Vec<_>>()[..] {
        [pkg, name] => format!("{pkg}/msg/{name}"),
        ["Header"] => "std_msgs/msg/Header".into(),
        [name] => format!("{package}/msg/{name}"),
        _ => short.to_owned(),
    }
}

/// One definition line → a field; comments, blank lines and constants → `None`.
fn parse_field(line: &str, package: &str) -> std::result::Result<Option<Field>, String> {
    let line = line.split('#').next().unwrap_or_default().trim();
    let mut tokens = line.split_whitespace();
    let (Some(type_text), Some(name)) = (tokens.next(), tokens.next()) else {
        return if line.is_empty() {
            Ok(None)
        } else {
            Err("expected `<type> <name>`".into())
        };
    };
    if name.contains('=') || tokens.next().is_some_and(|t| t.starts_with('=')) {
        return Ok(None); // a constant
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(format!("bad field name {name:?}"));
    }
    let (base, array) = match type_text.find('[') {
        Some(at) => (&type_text[..at], Some(&type_text[at..])),
        None => (type_text, None),
    };
    let (offset, capacity) = match array {
        None => (0, 0),
        Some("[]") => (144, 0),
        Some(a) => {
            let inner = a
                .strip_prefix('[')
                .and_then(|a| a.strip_suffix(']'))
                .ok_or("bad array suffix")?;
            match inner.strip_prefix("<=") {
                Some(n) => (96, n.parse().map_err(|_| "bad sequence bound")?),
                None => (48, inner.parse().map_err(|_| "bad array size")?),
            }
        }
    };
    let (base, string_capacity) = match base.split_once("<=") {
        Some((b, n)) => (b, n.parse().map_err(|_| "bad string bound")?),
        None => (base, 0),
    };
    let primitive = match base {
        "int8" => Some(2),
        "uint8" => Some(3),
        "int16" => Some(4),
        "uint16" => Some(5),
        "int32" => Some(6),
        "uint32" => Some(7),
        "int64" => Some(8),
        "uint64" => Some(9),
        "float32" => Some(10),
        "float64" => Some(11),
        "bool" => Some(15),
        "byte" => Some(16),
        "string" if string_capacity > 0 => Some(21),
        "string" => Some(17),
        "wstring" if string_capacity > 0 => Some(22),
        "wstring" => Some(18),
        "char" => return Err("`char` is not supported".into()),
        _ => None,
    };
    let (type_id, nested) = match primitive {
        Some(id) => (id, String::new()),
        None if base
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '/') =>
        {
            (1, full_name(base, package))
        }
        None => return Err(format!("unknown type {base:?}")),
    };
    Ok(Some(Field {
        name: name.to_owned(),
        type_id: type_id + offset,
        capacity,
        string_capacity,
        nested,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_hash_matches_the_rmw_zenoh_design_doc() {
        let hash = type_hash("std_msgs/msg/String", "string data\n").expect("hash");
        assert_eq!(
            hash.to_string(),
            "RIHS01_df668c740482bbd48fb39d76a70dfd4bd59db1288021743503259e948f6b1a18"
        );
        assert_eq!(hash.to_string().parse::<TypeHash>().expect("parse"), hash);
    }

    #[test]
    fn twist_hash_matches_the_one_hiroz_published() {
        let definition = "geometry_msgs/Vector3 linear\ngeometry_msgs/Vector3 angular\n\
            ================================================================================\n\
            MSG: geometry_msgs/Vector3\nfloat64 x # comment\nfloat64 y\nfloat64 z\nint32 K=3\n";
        let hash = type_hash("geometry_msgs/msg/Twist", definition).expect("hash");
        assert_eq!(
            hash.to_string(),
            "RIHS01_9c45bf16fe0983d80e3cfe750d6835843d265a9a6c46bd2e609fcddde6fb8d2a"
        );
    }

    #[test]
    fn dds_names_and_errors() {
        assert_eq!(
            dds_type_name("sensor_msgs/msg/Image").expect("name"),
            "sensor_msgs::msg::dds_::Image_"
        );
        assert!(dds_type_name("Image").is_err());
        assert!(type_hash("a/msg/B", "Missing field\n").is_err());
        assert!(type_hash("a/msg/B", "float32 x y z w\nfloat33[ q\n").is_err());
        assert!("RIHS01_zz".parse::<TypeHash>().is_err());
    }
}
