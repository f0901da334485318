//! `fieldproof admin backup` and `fieldproof admin restore`: a whole bureau
//! (database, photos, keys) to a folder and back, on the bureau's machine
//! itself rather than through its API (`bureau/docs/backup.md`).

use super::Result;
use crate::output::{Failure, Output};
use crate::serve::BureauArgs;
use clap::Args as ClapArgs;
use fieldproof_bureau::backup;
use fieldproof_core::hex;
use std::path::PathBuf;

#[derive(ClapArgs)]
pub struct BackupArgs {
    #[command(flatten)]
    bureau: BureauArgs,
    /// A new (or empty) folder for the backup.
    #[arg(long)]
    to: PathBuf,
}

#[derive(ClapArgs)]
pub struct RestoreArgs {
    /// The bureau to restore into: an empty data folder, and an empty database
    /// and bucket prefix when configured.
    #[command(flatten)]
    bureau: BureauArgs,
    /// A folder `fieldproof admin backup` made.
    #[arg(long)]
    from: PathBuf,
}

pub fn backup(args: BackupArgs, out: &Output) -> Result<()> {
    let config = args.bureau.config().map_err(|e| Failure::from_bureau(&e))?;
    let manifest = backup::backup(&config, &args.to).map_err(|e| Failure::from_bureau(&e))?;
    out.print(&manifest, || {
        format!(
            "backed up to {}: {} database, {} photos ({:.1} MB), custody log of {} records \
             (root {})",
            args.to.display(),
            manifest.database,
            manifest.photos,
            manifest.photo_bytes as f64 / 1e6,
            manifest.checkpoint.tree_size,
            hex::encode(&manifest.checkpoint.root)
        )
    });
    Ok(())
}

pub fn restore(args: RestoreArgs, out: &Output) -> Result<()> {
    let config = args.bureau.config().map_err(|e| Failure::from_bureau(&e))?;
    let restored = backup::restore(&args.from, &config).map_err(|e| Failure::from_bureau(&e))?;
    out.print(&restored, || {
        format!(
            "restored into {}: {} photos verified, custody log of {} records (root {}) \
             consistent with the backup's checkpoint of {}. Devices that hold a newer \
             checkpoint report it at their next sync (log_inconsistent on the device; \
             `fieldproof admin custody alarms` here)",
            config.data_dir.display(),
            restored.photos_verified,
            restored.tree_size,
            hex::encode(&restored.root),
            restored.manifest.checkpoint.tree_size
        )
    });
    Ok(())
}
