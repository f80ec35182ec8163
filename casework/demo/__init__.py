"""`casework demo`: the four-level system in motion on a simulated clock, in the 罗霄山片区."""
