"""Training engine, paper-agnostic: recipes (:mod:`.config`), the trainer (:mod:`.loop`), checkpoints, EMA, DDP
and logging. What each stage trains is the method's business (:mod:`facerestore.methods.objective`).
Guide: ``docs/training.md``."""
from facerestore.train.config import load_config
from facerestore.train.loop import NonFiniteLossError, Trainer, TrainingInterrupted

__all__ = ["NonFiniteLossError", "Trainer", "TrainingInterrupted", "load_config"]
