// Placeholder, replaced by the .npy reader.
