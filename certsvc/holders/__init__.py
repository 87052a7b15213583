"""Certificate holders: their ID numbers at rest."""
