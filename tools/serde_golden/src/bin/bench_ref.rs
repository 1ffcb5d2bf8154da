//! bench_ref: reference throughput stand-in.
//!
//! usage: bench_ref FILE [ITERATIONS]
//!
//! Reads FILE once, then ITERATIONS times (default 1) does
//! parse (serde_json::from_slice::<Value>) -> to_vec_pretty -> SHA-256 of
//! the output. Prints the hex digest of the (last) output on stdout and
//! timing to stderr: bytes in, seconds, MB/s (input bytes per second).
//! Exit 1 on a parse error.

use sha2::{Digest, Sha256};
use std::process::exit;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 2 || args.len() > 3 {
        eprintln!("usage: bench_ref FILE [ITERATIONS]");
        exit(2);
    }
    let input = match std::fs::read(&args[1]) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("bench_ref: reading {}: {}", args[1], e);
            exit(3);
        }
    };
    let iters: u64 = match args.get(2) {
        None => 1,
        Some(s) => match s.parse() {
            Ok(n) if n > 0 => n,
            _ => {
                eprintln!("bench_ref: bad ITERATIONS {:?}", s);
                exit(2);
            }
        },
    };
    let start = Instant::now();
    let mut digest = [0u8; 32];
    let mut out_len = 0usize;
    for _ in 0..iters {
        let value: serde_json::Value = match serde_json::from_slice(&input) {
            Ok(v) => v,
            Err(e) => {
                eprintln!("{}", e);
                exit(1);
            }
        };
        let out = serde_json::to_vec_pretty(&value).expect("serialize");
        out_len = out.len();
        digest.copy_from_slice(&Sha256::digest(&out));
    }
    let secs = start.elapsed().as_secs_f64();
    let hex: String = digest.iter().map(|b| format!("{:02x}", b)).collect();
    println!("{}", hex);
    let total = input.len() as f64 * iters as f64;
    eprintln!(
        "bench_ref: {} bytes in, {} bytes out, {} iteration(s), {:.6} s, {:.1} MB/s",
        input.len(),
        out_len,
        iters,
        secs,
        if secs > 0.0 { total / secs / 1e6 } else { 0.0 }
    );
}
