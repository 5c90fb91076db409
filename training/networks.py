"""Torch networks that map PAD to target LMA features, and their training loops.

All networks work on standardised clip features (zero mean, unit variance per feature
over the training clips). Three designs are compared in ``training.evaluate``:

- :class:`VAE`: the original design. An unsupervised variational autoencoder whose
  latent is reached from PAD by separate regressors (``training.baselines``).
- :class:`ContentEmotionAE`: the latent is split into a content code, read from the
  motion being edited, and the PAD triple itself. The decoder is trained with
  cross-reconstruction: the content code of one style of a movement plus the PAD of
  another style must reproduce the features of that other style.
- :class:`DeltaMLP`: a conditional regressor that predicts the feature change
  ``target - source`` from the source features and the requested PAD.

Training is full-batch Adam with fixed seeds, sized for two CPU cores.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

__all__ = [
    "VAE",
    "ContentEmotionAE",
    "DeltaMLP",
    "AverageTarget",
    "TrainingSet",
    "TrainSettings",
    "train_vae",
    "train_content_emotion",
    "train_delta",
    "make_pairs",
]

logger = logging.getLogger(__name__)


def _mlp(sizes: list[int], dropout: float = 0.0) -> nn.Sequential:
    layers: list[nn.Module] = []
    for index, (size_in, size_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(size_in, size_out))
        if index < len(sizes) - 2:
            layers.append(nn.ELU())
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


class VAE(nn.Module):
    """Variational autoencoder over standardised features."""

    def __init__(self, feature_count: int, latent_size: int = 3, hidden: int = 64) -> None:
        super().__init__()
        self.encoder = _mlp([feature_count, hidden, hidden])
        self.to_mean = nn.Linear(hidden, latent_size)
        self.to_log_variance = nn.Linear(hidden, latent_size)
        self.decoder = _mlp([latent_size, hidden, hidden, feature_count])
        self.latent_size = latent_size

    def encode(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        hidden = torch.nn.functional.elu(self.encoder(features))
        return self.to_mean(hidden), self.to_log_variance(hidden)

    def decode(self, latent: torch.Tensor) -> torch.Tensor:
        return self.decoder(latent)

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mean, log_variance = self.encode(features)
        if self.training:
            latent = mean + torch.randn_like(mean) * torch.exp(0.5 * log_variance)
        else:
            latent = mean
        return self.decode(latent), mean, log_variance


class ContentEmotionAE(nn.Module):
    """Autoencoder whose latent is a content code plus the PAD triple."""

    def __init__(self, feature_count: int, content_size: int = 8, hidden: int = 64, dropout: float = 0.1) -> None:
        super().__init__()
        self.content_encoder = _mlp([feature_count, hidden, hidden, content_size], dropout)
        self.emotion_encoder = _mlp([feature_count, hidden, 3], dropout)
        self.decoder = _mlp([content_size + 3, hidden, hidden, feature_count], dropout)
        self.content_size = content_size

    def content(self, features: torch.Tensor) -> torch.Tensor:
        return self.content_encoder(features)

    def emotion(self, features: torch.Tensor) -> torch.Tensor:
        """Return the PAD the encoder reads from the features, squashed into [-1, 1]."""
        return torch.tanh(self.emotion_encoder(features))

    def decode(self, content: torch.Tensor, pad: torch.Tensor) -> torch.Tensor:
        return self.decoder(torch.cat([content, pad], dim=-1))

    def forward(self, source: torch.Tensor, pad: torch.Tensor) -> torch.Tensor:
        """Return the target features for ``pad`` given the source features: the exported graph."""
        return self.decode(self.content(source), pad)


class DeltaMLP(nn.Module):
    """Regressor of the feature change from the source features and the target PAD."""

    def __init__(self, feature_count: int, hidden: int = 64, dropout: float = 0.1) -> None:
        super().__init__()
        self.network = _mlp([feature_count + 3, hidden, hidden, feature_count], dropout)

    def forward(self, source: torch.Tensor, pad: torch.Tensor) -> torch.Tensor:
        """Return the target features: the source plus the predicted change."""
        return source + self.network(torch.cat([source, pad], dim=-1))


class AverageTarget(nn.Module):
    """Average of several ``(source, pad) -> target`` networks."""

    def __init__(self, members: list[nn.Module]) -> None:
        super().__init__()
        self.members = nn.ModuleList(members)

    def forward(self, source: torch.Tensor, pad: torch.Tensor) -> torch.Tensor:
        return torch.stack([member(source, pad) for member in self.members]).mean(dim=0)


@dataclass
class TrainingSet:
    """Standardised clip features with labels, as the networks train on them."""

    features: np.ndarray
    """``(clips, features)`` standardised features."""
    pad: np.ndarray
    """``(clips, 3)`` PAD of the clip's style; NaN rows for non-emotional styles."""
    groups: np.ndarray
    """``(clips,)`` group key: clips of one group show the same movement in different styles."""

    @property
    def labelled(self) -> np.ndarray:
        return ~np.isnan(self.pad).any(axis=1)


@dataclass
class TrainSettings:
    """Hyperparameters shared by the training loops."""

    epochs: int = 400
    """Optimisation steps."""
    learning_rate: float = 3e-3
    weight_decay: float = 1e-4
    hidden: int = 64
    """Units per hidden layer."""
    latent_size: int = 3
    """VAE latent size."""
    content_size: int = 8
    """Content code size of :class:`ContentEmotionAE`."""
    beta: float = 0.05
    """Weight of the VAE's KL term."""
    emotion_weight: float = 1.0
    """Weight of the PAD supervision of the emotion encoder."""
    content_weight: float = 0.1
    """Weight of the term that pulls the content codes of one group together."""
    cycle_weight: float = 0.0
    """Weight of the cycle term: features decoded for a random PAD must encode back to that PAD."""
    pairs_per_group: int = 64
    """Maximum ordered pairs drawn per group each step (first dataset groups have 64)."""
    batch_size: int = 256
    """Clips per step for the VAE and for the unlabelled reconstruction term."""
    seed: int = 0


def make_pairs(groups: np.ndarray, mask: np.ndarray, rng: np.random.Generator, limit: int) -> np.ndarray:
    """Return ``(pairs, 2)`` ordered index pairs of masked clips that share a group.

    Groups with more than ``limit`` ordered pairs contribute ``limit`` pairs drawn at random.
    """
    result = []
    for group in np.unique(groups[mask]):
        members = np.flatnonzero(mask & (groups == group))
        if len(members) * len(members) <= limit:
            sources, targets = np.meshgrid(members, members, indexing="ij")
            result.append(np.stack([sources.ravel(), targets.ravel()], axis=1))
        else:
            result.append(rng.choice(members, size=(limit, 2)))
    if not result:
        return np.zeros((0, 2), dtype=np.int64)
    return np.concatenate(result).astype(np.int64)


def _optimizer(model: nn.Module, settings: TrainSettings) -> torch.optim.Optimizer:
    return torch.optim.AdamW(model.parameters(), lr=settings.learning_rate, weight_decay=settings.weight_decay)


def _schedule(optimizer: torch.optim.Optimizer, settings: TrainSettings) -> torch.optim.lr_scheduler.LRScheduler:
    return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=settings.epochs, eta_min=settings.learning_rate * 0.05)


def train_vae(features: np.ndarray, settings: TrainSettings) -> VAE:
    """Fit a :class:`VAE` to ``(clips, features)`` standardised features."""
    torch.manual_seed(settings.seed)
    model = VAE(features.shape[1], settings.latent_size, settings.hidden)
    optimizer = _optimizer(model, settings)
    scheduler = _schedule(optimizer, settings)
    all_inputs = torch.as_tensor(features, dtype=torch.float32)
    generator = torch.Generator().manual_seed(settings.seed)
    model.train()
    for _ in range(settings.epochs):
        batch = torch.randperm(len(all_inputs), generator=generator)[: settings.batch_size]
        inputs = all_inputs[batch]
        reconstruction, mean, log_variance = model(inputs)
        reconstruction_loss = ((reconstruction - inputs) ** 2).sum(dim=1).mean()
        kl = -0.5 * (1 + log_variance - mean**2 - log_variance.exp()).sum(dim=1).mean()
        loss = reconstruction_loss + settings.beta * kl
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
    model.eval()
    return model


def train_content_emotion(data: TrainingSet, settings: TrainSettings) -> ContentEmotionAE:
    """Fit a :class:`ContentEmotionAE` with cross-reconstruction over pairs of one group.

    Each step draws ordered pairs (source, target) of labelled clips in one group, and
    ``decode(content(source), pad(target))`` must match the target. The emotion encoder
    must return each labelled clip's PAD. Unlabelled clips must reconstruct from their
    own content code and encoded emotion. The content codes of a pair are pulled
    together, and with ``cycle_weight`` features decoded for a random PAD must encode
    back to it.
    """
    torch.manual_seed(settings.seed)
    rng = np.random.default_rng(settings.seed)
    model = ContentEmotionAE(data.features.shape[1], settings.content_size, settings.hidden)
    optimizer = _optimizer(model, settings)
    scheduler = _schedule(optimizer, settings)
    features = torch.as_tensor(data.features, dtype=torch.float32)
    labelled = data.labelled
    pad = torch.as_tensor(np.nan_to_num(data.pad), dtype=torch.float32)
    unlabelled_index = np.flatnonzero(~labelled)
    labelled_index = np.flatnonzero(labelled)
    model.train()
    for _ in range(settings.epochs):
        pairs = torch.as_tensor(make_pairs(data.groups, labelled, rng, settings.pairs_per_group))
        source, target = pairs[:, 0], pairs[:, 1]
        source_content = model.content(features[source])
        target_content = model.content(features[target])
        prediction = model.decode(source_content, pad[target])
        loss = ((prediction - features[target]) ** 2).sum(dim=1).mean()
        loss = loss + settings.content_weight * ((source_content - target_content) ** 2).sum(dim=1).mean()
        batch = torch.as_tensor(rng.choice(labelled_index, size=min(settings.batch_size, len(labelled_index)), replace=False))
        emotion = model.emotion(features[batch])
        loss = loss + settings.emotion_weight * ((emotion - pad[batch]) ** 2).sum(dim=1).mean()
        if len(unlabelled_index):
            batch = torch.as_tensor(rng.choice(unlabelled_index, size=min(settings.batch_size, len(unlabelled_index)), replace=False))
            own = model.decode(model.content(features[batch]), model.emotion(features[batch]))
            loss = loss + ((own - features[batch]) ** 2).sum(dim=1).mean()
        if settings.cycle_weight > 0:
            random_pad = torch.as_tensor(rng.uniform(-1.0, 1.0, size=(len(source), 3)), dtype=torch.float32)
            cycled = model.emotion(model.decode(source_content, random_pad))
            loss = loss + settings.cycle_weight * ((cycled - random_pad) ** 2).sum(dim=1).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
    model.eval()
    return model


def train_delta(data: TrainingSet, settings: TrainSettings) -> DeltaMLP:
    """Fit a :class:`DeltaMLP` on every ordered pair of labelled clips in one group."""
    torch.manual_seed(settings.seed)
    rng = np.random.default_rng(settings.seed)
    model = DeltaMLP(data.features.shape[1], settings.hidden)
    optimizer = _optimizer(model, settings)
    scheduler = _schedule(optimizer, settings)
    features = torch.as_tensor(data.features, dtype=torch.float32)
    pad = torch.as_tensor(np.nan_to_num(data.pad), dtype=torch.float32)
    model.train()
    for _ in range(settings.epochs):
        pairs = torch.as_tensor(make_pairs(data.groups, data.labelled, rng, settings.pairs_per_group))
        source, target = pairs[:, 0], pairs[:, 1]
        prediction = model(features[source], pad[target])
        loss = ((prediction - features[target]) ** 2).sum(dim=1).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
    model.eval()
    return model


def predict(model: nn.Module, source: np.ndarray, pad: np.ndarray) -> np.ndarray:
    """Run a target-feature network on numpy arrays: ``(n, features)`` and ``(n, 3)``."""
    with torch.no_grad():
        result = model(torch.as_tensor(source, dtype=torch.float32), torch.as_tensor(pad, dtype=torch.float32))
    return result.numpy().astype(np.float64)
