"""The run's time series recorder: Mesa's DataCollector with the recorded values held compactly.

Mesa keeps every recorded model variable as a Python object in a list (a float and its pointer,
about 32 bytes a value); a default day records 2,340 rows of some 45 columns, about 3 MB a
day, the largest thing left that grows with the days of a run. :class:`PackedDataCollector`
moves each column's values into a numpy array every :data:`PACK_EVERY` rows (8 bytes a value for
numbers and flags) and gives back exactly the frame Mesa's ``get_model_vars_dataframe`` builds:
each packed piece carries the dtype pandas infers for it, and a column whose pieces disagree
(say, a day that recorded only ``None``) is rebuilt from its values as Python objects, so pandas
infers the whole column's dtype as it would from Mesa's list.
"""

from __future__ import annotations

from itertools import chain

import mesa
import numpy as np
import pandas as pd

#: rows recorded between two packings (a default day records 2,340)
PACK_EVERY = 2048


class PackedDataCollector(mesa.DataCollector):
    """Model variables only (the model's reporters); ``collect`` and
    ``get_model_vars_dataframe`` as Mesa's."""

    def __init__(self, model_reporters: dict) -> None:
        super().__init__(model_reporters=model_reporters)
        # column -> the packed values, oldest first, as pandas infers each piece's dtype
        self._packed: dict[str, list[np.ndarray]] = {name: [] for name in self.model_vars}

    def collect(self, model) -> None:
        super().collect(model)
        if len(next(iter(self.model_vars.values()), ())) >= PACK_EVERY:
            self.pack()

    def pack(self) -> None:
        """Move the values recorded since the last packing into numpy arrays."""
        for name, values in self.model_vars.items():
            if values:
                self._packed[name].append(pd.Series(values).to_numpy())
                values.clear()

    def get_model_vars_dataframe(self) -> pd.DataFrame:
        columns: dict[str, object] = {}
        for name, values in self.model_vars.items():
            parts = self._packed[name]
            if not parts:
                columns[name] = values
                continue
            if values:
                parts = [*parts, pd.Series(values).to_numpy()]
            if len({p.dtype for p in parts}) == 1 and parts[0].dtype != object:
                columns[name] = np.concatenate(parts)
            else:  # the pieces' dtypes disagree: let pandas infer from every value at once
                columns[name] = list(chain.from_iterable(p.tolist() for p in parts))
        return pd.DataFrame(columns)
