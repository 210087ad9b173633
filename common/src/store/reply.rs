//! Reading a script's positional reply (`{code, a, b, ...}`) in a binding, with an
//! [`StoreError::UnexpectedReply`] naming the script for anything its header does not list.

use bytes::Bytes;
use fred::types::Value;

use super::StoreError;

/// A script's reply, as an array of values (a scalar reply is an array of one).
#[derive(Debug)]
pub struct Reply {
    script: &'static str,
    values: Vec<Value>,
}

impl Reply {
    pub fn new(script: &'static str, value: Value) -> Reply {
        let values = match value {
            Value::Array(values) => values,
            Value::Null => Vec::new(),
            other => vec![other],
        };
        Reply { script, values }
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The error for a reply the binding does not know.
    pub fn unexpected(&self) -> StoreError {
        StoreError::UnexpectedReply { script: self.script, reply: format!("{:?}", self.values) }
    }

    /// Element `i` as an integer (an integer reply, or a string of one).
    pub fn int(&self, i: usize) -> Result<i64, StoreError> {
        self.values.get(i).and_then(|v| v.as_i64()).ok_or_else(|| self.unexpected())
    }

    /// Element `i` as a non-negative integer.
    pub fn uint(&self, i: usize) -> Result<u64, StoreError> {
        u64::try_from(self.int(i)?).map_err(|_| self.unexpected())
    }

    /// Element `i` as a string.
    pub fn string(&self, i: usize) -> Result<String, StoreError> {
        self.values.get(i).and_then(|v| v.as_string()).ok_or_else(|| self.unexpected())
    }

    /// Element `i` as bytes.
    pub fn bytes(&self, i: usize) -> Result<Bytes, StoreError> {
        match self.values.get(i) {
            Some(Value::Bytes(b)) => Ok(b.clone()),
            Some(Value::String(s)) => Ok(Bytes::from(s.to_string())),
            _ => Err(self.unexpected()),
        }
    }

    /// Every element as bytes (a script answering a list of frames).
    pub fn all_bytes(&self) -> Result<Vec<Bytes>, StoreError> {
        (0..self.values.len()).map(|i| self.bytes(i)).collect()
    }

    /// Every element as an integer.
    pub fn all_ints(&self) -> Result<Vec<i64>, StoreError> {
        (0..self.values.len()).map(|i| self.int(i)).collect()
    }
}
