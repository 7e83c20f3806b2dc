"""Operations: snapshots, continuous replication with Litestream, safe upgrades."""
