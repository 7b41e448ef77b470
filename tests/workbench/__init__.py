"""Tests of the workbench: metrics, plots, train loop, checkpoints, CLI, registry and the
density family. A package so its module names cannot clash with other test folders."""
