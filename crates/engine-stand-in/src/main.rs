//! `engine-stand-in --port 8290`: serves the stand-in process engine until SIGTERM or Ctrl-C.
//! Started by `cargo xtask services up` for the local stack; see the library for the routes.

use actix_web::{App, HttpServer, web};
use clap::Parser;
use engine_stand_in::{Recorder, configure};

#[derive(Debug, Parser)]
#[command(about = "A stand-in for the process engine: records starts, runs nothing")]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Port to listen on.
    #[arg(long, default_value_t = 8290)]
    port: u16,
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    // Plain text: the log goes to a file (`run/engine-stand-in.log`), not a terminal.
    tracing_subscriber::fmt().with_ansi(false).with_writer(std::io::stdout).init();
    let recorder = web::Data::new(Recorder::default());
    tracing::info!(host = %args.host, port = args.port, "engine stand-in listening");
    HttpServer::new(move || App::new().configure(configure(recorder.clone())))
        .workers(1)
        .bind((args.host.as_str(), args.port))?
        .run()
        .await
}
