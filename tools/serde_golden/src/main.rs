//! serde_golden: the reference oracle for `cutover canonicalize`.
//!
//! Reads a JSON document from the file named by the first argument (or stdin
//! when no argument / "-" is given), parses it with
//! `serde_json::from_slice::<serde_json::Value>` and writes
//! `serde_json::to_vec_pretty` bytes to stdout with NO trailing newline.
//! Exit 0 on success; on a parse error the error goes to stderr, exit 1.
//! I/O errors exit 3.

use std::io::{Read, Write};
use std::process::exit;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let input = match args.get(1).map(String::as_str) {
        None | Some("-") => {
            let mut buf = Vec::new();
            if let Err(e) = std::io::stdin().read_to_end(&mut buf) {
                eprintln!("serde_golden: reading stdin: {}", e);
                exit(3);
            }
            buf
        }
        Some(path) => match std::fs::read(path) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("serde_golden: reading {}: {}", path, e);
                exit(3);
            }
        },
    };
    let value: serde_json::Value = match serde_json::from_slice(&input) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("{}", e);
            exit(1);
        }
    };
    let out = match serde_json::to_vec_pretty(&value) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("serde_golden: serialize: {}", e);
            exit(3);
        }
    };
    let stdout = std::io::stdout();
    let mut lock = stdout.lock();
    if let Err(e) = lock.write_all(&out).and_then(|_| lock.flush()) {
        eprintln!("serde_golden: writing stdout: {}", e);
        exit(3);
    }
}
