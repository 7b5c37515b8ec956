"""What every layer shares: errors, progress events, folders, logging, files."""
