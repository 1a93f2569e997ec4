"""The local stack: the whole product on one machine, on emulated AWS. Not packaged."""
