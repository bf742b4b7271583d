//! Just enough of the ONNX protobuf format to read a model's graph and its float weights, so
//! the native step (native.rs) can run the exported network without ONNX Runtime.
//!
//! Protobuf wire format: each field is a varint key `(number << 3) | wire_type`, then a varint
//! (type 0), 8 bytes (1), a length-prefixed blob (2) or 4 bytes (5). Only the fields named below
//! are decoded; the rest are skipped, as any protobuf reader does.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};

/// A graph node: operator and the names of its inputs and outputs.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Node {
    pub op_type: String,
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
}

/// A float32 initializer (weights); other element types keep their dims but no data.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Tensor {
    pub dims: Vec<i64>,
    pub data_type: i32,
    pub floats: Vec<f32>,
}

#[derive(Clone, Debug, Default)]
pub struct OnnxFile {
    pub producer: String,
    pub nodes: Vec<Node>,
    pub initializers: HashMap<String, Tensor>,
    pub metadata: HashMap<String, String>,
}

/// TensorProto.DataType FLOAT.
pub const FLOAT: i32 = 1;

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

enum Value<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Fixed32(u32),
    Fixed64,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    fn varint(&mut self) -> Result<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = *self.buf.get(self.pos).ok_or_else(|| anyhow!("truncated varint"))?;
            self.pos += 1;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        bail!("varint longer than 10 bytes")
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len());
        let end = end.ok_or_else(|| anyhow!("field of {n} bytes runs past the end"))?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    /// The next (field number, value), None at the end.
    fn field(&mut self) -> Result<Option<(u64, Value<'a>)>> {
        if self.pos >= self.buf.len() {
            return Ok(None);
        }
        let key = self.varint()?;
        let value = match key & 7 {
            0 => Value::Varint(self.varint()?),
            1 => {
                self.take(8)?;
                Value::Fixed64
            }
            2 => {
                let n = self.varint()? as usize;
                Value::Bytes(self.take(n)?)
            }
            5 => Value::Fixed32(u32::from_le_bytes(self.take(4)?.try_into().unwrap())),
            t => bail!("unsupported protobuf wire type {t}"),
        };
        Ok(Some((key >> 3, value)))
    }
}

fn string(v: &Value) -> Result<String> {
    match v {
        Value::Bytes(b) => Ok(String::from_utf8_lossy(b).into_owned()),
        _ => bail!("expected a string field"),
    }
}

fn node(buf: &[u8]) -> Result<Node> {
    let mut n = Node::default();
    let mut r = Reader::new(buf);
    while let Some((f, v)) = r.field()? {
        match f {
            1 => n.inputs.push(string(&v)?),
            2 => n.outputs.push(string(&v)?),
            4 => n.op_type = string(&v)?,
            _ => {}
        }
    }
    Ok(n)
}

fn tensor(buf: &[u8]) -> Result<(String, Tensor)> {
    let (mut name, mut t, mut raw) = (String::new(), Tensor::default(), None);
    let mut r = Reader::new(buf);
    while let Some((f, v)) = r.field()? {
        match (f, v) {
            (1, Value::Varint(d)) => t.dims.push(d as i64),
            (1, Value::Bytes(b)) => {
                let mut p = Reader::new(b);
                while p.pos < b.len() {
                    t.dims.push(p.varint()? as i64);
                }
            }
            (2, Value::Varint(d)) => t.data_type = d as i32,
            (4, Value::Fixed32(x)) => t.floats.push(f32::from_bits(x)),
            (4, Value::Bytes(b)) => t.floats.extend(
                b.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())),
            ),
            (8, v) => name = string(&v)?,
            (9, Value::Bytes(b)) => raw = Some(b),
            (13, _) => bail!("tensor {name:?} keeps its data in an external file"),
            _ => {}
        }
    }
    if t.data_type == FLOAT {
        if let Some(b) = raw {
            if b.len() % 4 != 0 {
                bail!("tensor {name:?}: raw data of {} bytes is not float32", b.len());
            }
            t.floats = b.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect();
        }
        let want: i64 = t.dims.iter().product();
        if want != t.floats.len() as i64 {
            bail!("tensor {name:?}: dims {:?} but {} values", t.dims, t.floats.len());
        }
    }
    Ok((name, t))
}

impl OnnxFile {
    pub fn read(path: &Path) -> Result<OnnxFile> {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        OnnxFile::parse(&bytes).with_context(|| format!("{}: not a readable ONNX model", path.display()))
    }

    pub fn parse(bytes: &[u8]) -> Result<OnnxFile> {
        let mut out = OnnxFile::default();
        let mut graph = None;
        let mut r = Reader::new(bytes);
        while let Some((f, v)) = r.field()? {
            match (f, v) {
                (2, v) => out.producer = string(&v)?,
                (7, Value::Bytes(b)) => graph = Some(b),
                (14, Value::Bytes(b)) => {
                    let (mut k, mut val) = (String::new(), String::new());
                    let mut e = Reader::new(b);
                    while let Some((f, v)) = e.field()? {
                        match f {
                            1 => k = string(&v)?,
                            2 => val = string(&v)?,
                            _ => {}
                        }
                    }
                    out.metadata.insert(k, val);
                }
                _ => {}
            }
        }
        let graph = graph.ok_or_else(|| anyhow!("no graph"))?;
        let mut g = Reader::new(graph);
        while let Some((f, v)) = g.field()? {
            match (f, v) {
                (1, Value::Bytes(b)) => out.nodes.push(node(b)?),
                (5, Value::Bytes(b)) => {
                    let (name, t) = tensor(b)?;
                    out.initializers.insert(name, t);
                }
                _ => {}
            }
        }
        Ok(out)
    }

    /// A float initializer with the given dims.
    pub fn weights(&self, name: &str, dims: &[usize]) -> Result<&[f32]> {
        let t = self
            .initializers
            .get(name)
            .ok_or_else(|| anyhow!("no initializer {name:?}"))?;
        let have: Vec<usize> = t.dims.iter().map(|&d| d as usize).collect();
        if t.data_type != FLOAT || have != dims {
            bail!(
                "initializer {name:?} is type {} dims {:?}, expected float32 {dims:?}",
                t.data_type,
                t.dims
            );
        }
        Ok(&t.floats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
    }

    #[test]
    fn reads_the_bundled_model() {
        let m = OnnxFile::read(&root().join("model/artifacts/oracle.onnx")).unwrap();
        assert!(m.producer.starts_with("scx_oracle"), "{}", m.producer);
        assert!(m.metadata.contains_key("scx_oracle.encoding"));
        assert_eq!(m.nodes[0].op_type, "Unsqueeze");
        let w = &m.initializers["w_gates"];
        assert_eq!(w.dims.len(), 2);
        assert_eq!(w.floats.len() as i64, w.dims[0] * w.dims[1]);
        assert!(w.floats.iter().all(|x| x.is_finite()) && w.floats.iter().any(|&x| x != 0.0));
    }

    #[test]
    fn truncated_files_are_errors_not_panics() {
        let bytes = std::fs::read(root().join("model/artifacts/oracle.onnx")).unwrap();
        for cut in [1, 7, 100, bytes.len() / 2, bytes.len() - 3] {
            assert!(OnnxFile::parse(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        assert!(OnnxFile::parse(b"not a model at all").is_err());
    }
}
