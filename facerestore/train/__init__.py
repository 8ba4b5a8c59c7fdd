"""Training engine: recipes (:mod:`.config`), the trainer (:mod:`.loop`), what each stage trains
(:mod:`.objectives`; with discriminators and guides: :mod:`.adversarial`), checkpoints, EMA, DDP and logging.
Guide: ``docs/training.md``."""
from facerestore.train.config import load_config
from facerestore.train.loop import NonFiniteLossError, Trainer, TrainingInterrupted

__all__ = ["NonFiniteLossError", "Trainer", "TrainingInterrupted", "load_config"]
