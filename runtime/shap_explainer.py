"""Per-case explanations in probability points of the calibrated probability.

Method
------
1. **TreeSHAP in log-odds.** The LightGBM booster's own
   ``predict(X, pred_contrib=True)`` returns, for every case, one SHAP value per
   feature plus the expected margin (the bias column), in log-odds, with
   ``bias + sum(shap) == raw margin`` exactly. It is the same path-dependent
   TreeSHAP algorithm as ``shap.TreeExplainer(model,
   feature_perturbation="tree_path_dependent")`` (the tests check the two agree
   to 1e-9), needs no background data at explain time, and it reads pandas
   ``category`` columns and NaN exactly the way the model was trained on them,
   so the known SHAP + LightGBM categorical trap (category codes re-read as
   numbers) cannot happen. It also avoids importing ``shap`` in the scoring
   path, which costs about a second and emits warnings.
2. **Mapping to probability points.** With ``m = bias + S`` (``S`` the sum of
   the log-odds SHAP values), the returned probability is
   ``p = calibrator(sigmoid(m))`` and the base value is
   ``base = calibrator(sigmoid(bias))``. The difference ``p - base`` is shared
   among the features in proportion to their log-odds SHAP values:
   ``c_j = (p - base) * shap_j / S``. Because the calibrator is monotone, the
   factor ``(p - base) / S`` is never negative, so every feature keeps the
   direction SHAP gave it, and ``base + sum(c) == p`` holds by construction
   (to floating-point error).
3. **Fallback when S is about zero** (``|S| < SUM_TOLERANCE``): the ratio is
   numerically undefined, so ``p - base`` (itself about zero for a continuous
   calibrator) is shared in proportion to ``|shap_j|``; when every SHAP value
   is exactly zero the margin equals the bias, ``p == base`` and every
   contribution is zero.

4. **One line per concept.** The feature dictionary puts the features that
   measure one thing in a group (attendance over 3 and 6 terms). ``explain``
   sums the contributions within each group (additivity keeps
   ``base + sum(group contributions) == p``), lists the groups, each with one
   sentence carrying the person's values, and keeps the per-feature detail
   under the group. Groups that round to zero at the display precision
   (``runtime.risk_language.DISPLAY_DECIMALS``) are never listed; the
   explanation says how little the unlisted groups moved the score, and lists
   the modifiable groups that raised it under "support could address".

Additivity is a property of :meth:`ProbabilityShapExplainer.contributions`
(unrounded); :meth:`ProbabilityShapExplainer.explain` rounds for display.

A model saved before groups existed holds a dictionary without them: its
features are grouped by the packaged dictionary (``features/dictionary.yaml``),
and a feature it does not know is a group of its own.
"""

from __future__ import annotations

import math
from typing import Any, TypedDict

import numpy as np
import pandas as pd

from runtime.model_inputs import ERR_NOT_FRAME, prepare_inputs
from runtime.risk_language import DISPLAY_DECIMALS, other_factors_sentences

RAISED = "raised"
LOWERED = "lowered"
UNASSIGNED_FAMILY = "unassigned"
SUM_TOLERANCE = 1e-9
CONTRIBUTION_DECIMALS = 5
PROBABILITY_DECIMALS = 6
VALUE_DECIMALS = 4
SMALL_BATCH = 64
_GROUPING_CACHE = "_grouping_cache"

ERR_TOP_K = "top_k must be a positive integer, got {!r}"
ERR_NOT_FITTED = "ProbabilityShapExplainer is not fitted: call fit(estimator, calibrator, X_reference, dictionary) first"
ERR_ESTIMATOR = "estimator must be a fitted binary lightgbm.LGBMClassifier, got {!r}"
ERR_CALIBRATOR = "calibrator must have a predict(raw_probability) method, got {!r}"
ERR_EMPTY_REFERENCE = "X_reference has no rows"
ERR_REFERENCE_COLUMNS = "X_reference columns {} differ from the model's features {}"
ERR_CALIBRATOR_SHAPE = "calibrator.predict returned shape {}, expected ({},)"


class Factor(TypedDict):
    """One feature's part in one case's score (the detail under its group)."""

    feature: str
    value: float | int | str | None
    sentence: str
    contribution: float


class GroupFactor(TypedDict):
    """One concept's part in one case's score: its features' contributions summed."""

    group: str
    family: str
    modifiable: bool
    sentence: str
    contribution: float
    features: list[Factor]


class CaseExplanation(TypedDict):
    """The explanation of one case (docs/explanations.md, "Output")."""

    base_value: float
    probability: float
    raising: list[GroupFactor]
    lowering: list[GroupFactor]
    support_could_address: list[GroupFactor]
    other_factors: str


class _Grouping:
    """Feature groups in model order: names, families, modifiability, member columns."""

    def __init__(self, names: list[str], families: list[str], modifiable: list[bool],
                 members: list[list[int]], dictionary: Any, feature_names: list[str]) -> None:
        self.names = names
        self.families = families
        self.modifiable = modifiable
        self.members = members
        # Sentences come from this dictionary's groups (None: each group is one feature).
        self.dictionary = dictionary
        self.matrix = np.zeros((len(feature_names), len(names)))
        for g, columns in enumerate(members):
            self.matrix[columns, g] = 1.0
        # The columns each group's sentence depends on (with "any member recorded and not zero").
        position = {name: j for j, name in enumerate(feature_names)}
        self.sentence_columns = [
            columns if dictionary is None
            else [position[m] for m in dictionary.sentence_members(names[g]) if m in position]
            for g, columns in enumerate(members)
        ]


class ProbabilityShapExplainer:
    """TreeSHAP contributions rescaled to probability points of the calibrated score.

    Parameters
    ----------
    top_k : int, default 5
        How many factors raising and how many lowering the risk ``explain`` lists.

    Attributes
    ----------
    feature_names_ : list of str
        Model inputs in the booster's order.
    families_ : list of str
        The dictionary family of each feature (``"unassigned"`` without a dictionary).
    expected_margin_ : float
        The booster's expected raw margin (TreeSHAP bias term), in log-odds.
    base_value_ : float
        ``calibrator(sigmoid(expected_margin_))``, the probability every case starts from.
    """

    def __init__(self, top_k: int = 5) -> None:
        self.top_k = top_k

    def __getstate__(self) -> dict[str, Any]:
        # The grouping is rebuilt after loading; a saved explainer holds only its fitted parts.
        return {k: v for k, v in self.__dict__.items() if k != _GROUPING_CACHE}

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        estimator: Any,
        calibrator: Any,
        X_reference: pd.DataFrame,
        dictionary: Any = None,
    ) -> ProbabilityShapExplainer:
        """Remember the model, its calibrator, the input dtypes and the feature dictionary.

        Parameters
        ----------
        estimator : lightgbm.LGBMClassifier
            Fitted binary classifier.
        calibrator : object with ``predict(raw_probability) -> ndarray``
            Monotone map from the raw model probability to the calibrated one.
        X_reference : DataFrame
            A sample of model inputs; fixes the column order and dtypes
            (category levels) that ``contributions`` coerces inputs to.
        dictionary : features.dictionary.FeatureDictionary or None
            Source of families and plain-English sentences. ``None`` only in
            unit tests: sentences become ``"<name> = <value>"``.
        """
        _check_top_k(self.top_k)
        booster = _booster_of(estimator)
        if not callable(getattr(calibrator, "predict", None)):
            raise ValueError(ERR_CALIBRATOR.format(type(calibrator).__name__))
        if not isinstance(X_reference, pd.DataFrame):
            raise ValueError(ERR_NOT_FRAME.format("X_reference", type(X_reference).__name__))
        if len(X_reference) == 0:
            raise ValueError(ERR_EMPTY_REFERENCE)
        names = list(booster.feature_name())
        if list(X_reference.columns) != names:
            raise ValueError(ERR_REFERENCE_COLUMNS.format(list(X_reference.columns), names))

        self.estimator_ = estimator
        self.booster_ = booster
        self.calibrator_ = calibrator
        self.dictionary_ = dictionary
        self.feature_names_ = names
        self.dtypes_ = dict(X_reference.dtypes.items())
        self.families_ = [_family(dictionary, name) for name in names]
        phi = booster.predict(X_reference.iloc[:1], pred_contrib=True)
        self.expected_margin_ = float(np.asarray(phi)[0, -1])
        self.base_value_ = float(self._calibrate(_sigmoid(np.array([self.expected_margin_])))[0])
        return self

    # ------------------------------------------------------- contributions
    def log_odds_contributions(self, X: pd.DataFrame) -> np.ndarray:
        """TreeSHAP values in log-odds, shape ``(n, n_features + 1)``; the last column is the bias."""
        return self._tree_shap(self.prepare(X))

    def _tree_shap(self, prepared: pd.DataFrame) -> np.ndarray:
        return booster_predict(self.booster_, prepared, pred_contrib=True)

    def contributions(self, X: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
        """Base values and per-feature contributions in probability points.

        Returns
        -------
        base_values : ndarray of shape (n,)
        contributions : DataFrame of shape (n, n_features)
            Indexed like ``X``; ``base_values + contributions.sum(axis=1)``
            equals the calibrated probability.
        """
        phi = self.log_odds_contributions(X)
        base, contrib, _ = self.to_probability(phi)
        return base, pd.DataFrame(contrib, index=X.index, columns=self.feature_names_)

    def to_probability(self, phi: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Map log-odds SHAP values (with bias column) to ``(base, contributions, probability)``.

        Probability points of the calibrated probability, by the method in the
        module docstring (steps 2 and 3).
        """
        shap_values = phi[:, :-1]
        bias = phi[:, -1]
        total = shap_values.sum(axis=1)
        probability = self._calibrate(_sigmoid(bias + total))
        base = self._calibrate(_sigmoid(bias))
        delta = probability - base

        contrib = np.zeros_like(shap_values)
        regular = np.abs(total) >= SUM_TOLERANCE
        contrib[regular] = shap_values[regular] * (delta[regular] / total[regular])[:, None]
        # Fallback (module docstring, step 3): share by |shap| when S is about zero.
        tiny = ~regular
        if tiny.any():
            weights = np.abs(shap_values[tiny])
            norm = weights.sum(axis=1)
            nonzero = norm > 0
            shares = np.zeros_like(weights)
            shares[nonzero] = weights[nonzero] / norm[nonzero, None]
            contrib[tiny] = shares * delta[tiny, None]
        return base, contrib, probability

    def _calibrate(self, raw: np.ndarray) -> np.ndarray:
        out = np.asarray(self.calibrator_.predict(raw), dtype=float).reshape(-1)
        if out.shape != (len(raw),):
            raise ValueError(ERR_CALIBRATOR_SHAPE.format(out.shape, len(raw)))
        return out

    # -------------------------------------------------------------- explain
    def explain(self, X: pd.DataFrame, top_k: int | None = None) -> list[CaseExplanation]:
        """Top factors raising and lowering each case's calibrated probability.

        Parameters
        ----------
        X : DataFrame
            Model inputs (the feature builder's ``X``); extra columns are ignored.
        top_k : int, optional
            Overrides the ``top_k`` given at construction.

        Returns
        -------
        list of CaseExplanation
            One per row of ``X``, in order; JSON-serialisable.
        """
        k = self.top_k if top_k is None else top_k
        _check_top_k(k)
        prepared = self.prepare(X)
        phi = self._tree_shap(prepared)
        base, contrib, probability = self.to_probability(phi)
        return self._explanations(prepared, base, contrib, probability, k)

    def _explanations(
        self,
        X: pd.DataFrame,
        base: np.ndarray,
        contrib: np.ndarray,
        probability: np.ndarray,
        k: int,
    ) -> list[CaseExplanation]:
        grouping = self.grouping()
        # One matrix product over the batch sums the features into their groups.
        group_contrib = contrib @ grouping.matrix
        n_groups = group_contrib.shape[1]
        k = min(k, n_groups)
        # A group is listed only when it shows at the display precision (percentage points).
        visible = np.round(100.0 * group_contrib, DISPLAY_DECIMALS) != 0.0
        up_score = np.where(visible & (group_contrib > 0), group_contrib, -np.inf)
        down_score = np.where(visible & (group_contrib < 0), -group_contrib, -np.inf)
        # argpartition then a sort of only k columns: O(n * G) rather than a full sort.
        up = _top(up_score, k)
        down = _top(down_score, k)
        modifiable = np.array(grouping.modifiable, dtype=bool)
        support_score = np.where(modifiable, up_score, -np.inf)
        support = _top(support_score, n_groups)
        rows = np.arange(len(contrib))[:, None]
        listed = np.zeros_like(visible)
        # Listed: in the top k of its direction with a finite score (an index can be in both tops).
        listed[rows, up] |= np.isfinite(up_score[rows, up])
        listed[rows, down] |= np.isfinite(down_score[rows, down])
        others = other_factors_sentences(np.where(listed, 0.0, np.abs(group_contrib)).max(axis=1, initial=0.0))

        # Only the groups a case lists are put into words: entries (case, group), case by case.
        needed = listed | np.isfinite(support_score)
        case_of, group_of = np.nonzero(needed)
        entries = self._group_factors(grouping, _InputValues(X), contrib, group_contrib, case_of, group_of)
        entry_at = np.full(needed.shape, -1)
        entry_at[case_of, group_of] = np.arange(len(case_of))
        # Each case's lists as entry numbers, -1 where a top slot holds no group.
        raising = np.where(up_score[rows, up] != -np.inf, entry_at[rows, up], -1).tolist()
        lowering = np.where(down_score[rows, down] != -np.inf, entry_at[rows, down], -1).tolist()
        supporting = np.where(np.isfinite(support_score[rows, support]), entry_at[rows, support], -1).tolist()
        bases = np.round(base, PROBABILITY_DECIMALS).tolist()
        probabilities = np.round(probability, PROBABILITY_DECIMALS).tolist()
        return [
            CaseExplanation(
                base_value=bases[i],
                probability=probabilities[i],
                raising=[entries[e] for e in raising[i] if e >= 0],
                lowering=[entries[e] for e in lowering[i] if e >= 0],
                support_could_address=[entries[e] for e in supporting[i] if e >= 0],
                other_factors=others[i],
            )
            for i in range(len(bases))
        ]

    def _group_factors(
        self, grouping: _Grouping, values: _InputValues, contrib: np.ndarray, group_contrib: np.ndarray,
        case_of: np.ndarray, group_of: np.ndarray,
    ) -> list[GroupFactor]:
        """One GroupFactor per entry (case ``case_of[e]``, group ``group_of[e]``)."""
        totals = np.round(group_contrib[case_of, group_of], CONTRIBUTION_DECIMALS)
        raised = totals > 0
        recorded = (values.recorded() @ grouping.matrix > 0)[case_of, group_of]
        sentences = self._group_sentences(grouping, values, case_of, group_of, raised, recorded)
        features = self._feature_factors(grouping, values, contrib, case_of, group_of)
        names, families, modifiable = grouping.names, grouping.families, grouping.modifiable
        return [
            GroupFactor(group=names[g], family=families[g], modifiable=modifiable[g], sentence=sentence,
                        contribution=total, features=factors)
            for g, sentence, total, factors in zip(group_of.tolist(), sentences, totals.tolist(), features)
        ]  # fmt: skip

    def _group_sentences(
        self, grouping: _Grouping, values: _InputValues, case_of: np.ndarray, group_of: np.ndarray,
        raised: np.ndarray, recorded: np.ndarray,
    ) -> list[str]:
        """Each entry's group sentence, worded once per group and distinct key.

        The key is what the sentence depends on: the direction, whether any member
        is recorded and not zero, and the values of the group's sentence members.
        """
        out = np.empty(len(case_of), dtype=object)
        for g in np.unique(group_of).tolist():
            at = np.flatnonzero(group_of == g)
            cases = case_of[at]
            columns = grouping.sentence_columns[g]
            first, inverse = _distinct_rows(raised[at], recorded[at], values.numbers[np.ix_(cases, np.asarray(columns, dtype=np.intp))])
            worded = []
            for e in first.tolist():
                i, direction = int(cases[e]), RAISED if raised[at[e]] else LOWERED
                if grouping.dictionary is None:
                    worded.append(self._describe(columns[0], values.at(i, columns[0]), direction)[1])
                else:
                    row = {self.feature_names_[j]: values.at(i, j) for j in columns}
                    worded.append(grouping.dictionary.group_sentence(grouping.names[g], row, direction,
                                                                     bool(recorded[at[e]])))  # fmt: skip
            out[at] = np.array(worded, dtype=object)[inverse]
        return out.tolist()

    def _feature_factors(
        self, grouping: _Grouping, values: _InputValues, contrib: np.ndarray, case_of: np.ndarray,
        group_of: np.ndarray,
    ) -> list[list[Factor]]:
        """Each entry's features that show at display precision (when none does alone, all
        that moved it), largest first; each (feature, value, direction) worded once."""
        entry, column = np.nonzero(grouping.matrix.T[group_of] > 0)
        raw = contrib[case_of[entry], column]
        shown = np.round(raw, CONTRIBUTION_DECIMALS)
        shows = np.round(100.0 * raw, DISPLAY_DECIMALS) != 0.0
        any_shows = np.zeros(len(case_of), dtype=bool)
        any_shows[entry[shows]] = True
        kept = shows | (~any_shows[entry] & (shown != 0.0))
        entry, column, shown = entry[kept], column[kept], shown[kept]
        # Largest first within an entry; lexsort is stable, so ties keep the model's column order.
        order = np.lexsort((-np.abs(shown), entry))
        entry, column, shown = entry[order], column[order], shown[order]
        raised = shown > 0
        cases = case_of[entry]
        first, inverse = _distinct_rows(column, raised, values.numbers[cases, column][:, None])
        described = [
            self._describe(int(column[p]), values.at(int(cases[p]), int(column[p])), RAISED if raised[p] else LOWERED)
            for p in first.tolist()
        ]
        names = self.feature_names_
        factors = [
            Factor(feature=names[j], value=described[d][0], sentence=described[d][1], contribution=c)
            for j, d, c in zip(column.tolist(), inverse.tolist(), shown.tolist())
        ]
        ends = np.cumsum(np.bincount(entry, minlength=len(case_of))).tolist()
        return [factors[a:b] for a, b in zip([0, *ends[:-1]], ends)]

    def grouping(self) -> _Grouping:
        """The feature groups of this model (built once per process; see the module docstring)."""
        cached = self.__dict__.get(_GROUPING_CACHE)
        if cached is None:
            cached = self.__dict__[_GROUPING_CACHE] = self._build_grouping()
        return cached

    def _build_grouping(self) -> _Grouping:
        self._check_fitted()
        names = self.feature_names_
        dictionary = self.dictionary_
        if dictionary is not None and getattr(dictionary, "groups", None) is None:
            # Saved before groups existed (or a dictionary without them): group by the packaged one.
            from features.dictionary import FeatureDictionary

            dictionary = FeatureDictionary.load()
        grouped = dictionary is not None and all(name in dictionary for name in names)
        if not grouped:
            # Each feature its own group, not modifiable (nothing says a service could change it).
            return _Grouping(list(names), list(self.families_), [False] * len(names),
                             [[j] for j in range(len(names))], None, list(names))
        order: dict[str, list[int]] = {}
        for j, name in enumerate(names):
            order.setdefault(dictionary[name].group, []).append(j)
        groups = list(order)
        return _Grouping(
            groups,
            [dictionary.family(names[order[g][0]]) for g in groups],
            [bool(dictionary.groups[g].modifiable) for g in groups],
            [order[g] for g in groups],
            dictionary,
            list(names),
        )

    def _describe(self, j: int, raw: Any, direction: str) -> tuple[Any, str]:
        """The JSON-safe value and the dictionary sentence of feature ``j`` at ``raw``."""
        name = self.feature_names_[j]
        value = json_safe(raw)
        if self.dictionary_ is None:
            return value, f"{name} = {'missing' if value is None else value}"
        return value, self.dictionary_.sentence(name, raw, direction)

    # -------------------------------------------------------------- helpers
    def prepare(self, X: pd.DataFrame) -> pd.DataFrame:
        """``X`` as the booster's inputs, with the reference dtypes (:func:`runtime.model_inputs.prepare_inputs`)."""
        self._check_fitted()
        return prepare_inputs(X, self.feature_names_, self.dtypes_)

    def _check_fitted(self) -> None:
        if not hasattr(self, "booster_"):
            raise ValueError(ERR_NOT_FITTED)

    @property
    def feature_families(self) -> dict[str, str]:
        """Feature name -> family, in model order."""
        self._check_fitted()
        return dict(zip(self.feature_names_, self.families_, strict=True))


def json_safe(value: Any) -> float | int | str | None:
    """A JSON-safe scalar: None for missing, int for whole numbers, rounded floats, str otherwise."""
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        number = float(value)
        if math.isnan(number) or math.isinf(number):
            return None
        if number.is_integer():
            return int(number)
        return round(number, VALUE_DECIMALS)
    if value is pd.NA or value is pd.NaT:
        return None
    return str(value)


class _InputValues:
    """Model inputs as one float block (category codes, NaN when missing), read back cell by cell.

    Converted once: per-cell access of a DataFrame costs more than one case's TreeSHAP.
    """

    def __init__(self, X: pd.DataFrame) -> None:
        self.labels = {
            j: X.iloc[:, j].cat.categories.astype(object).to_numpy(dtype=object)
            for j, dtype in enumerate(X.dtypes) if isinstance(dtype, pd.CategoricalDtype)
        }  # fmt: skip
        numeric = [j for j in range(X.shape[1]) if j not in self.labels]
        self.numbers = np.empty(X.shape)
        self.numbers[:, numeric] = (X.iloc[:, numeric] if self.labels else X).to_numpy(dtype=float, na_value=np.nan)
        for j in self.labels:
            codes = X.iloc[:, j].cat.codes.to_numpy()
            self.numbers[:, j] = np.where(codes >= 0, codes, np.nan)

    def at(self, i: int, j: int) -> Any:
        """Row ``i``, column ``j`` as handed to the dictionary: a float, a category's label, None when missing."""
        number = float(self.numbers[i, j])
        if math.isnan(number):
            return None
        labels = self.labels.get(j)
        return number if labels is None else labels[int(number)]

    def recorded(self) -> np.ndarray:
        """1.0 where a value is recorded and not zero (a category: recorded), else 0.0."""
        categorical = np.zeros(self.numbers.shape[1], dtype=bool)
        categorical[list(self.labels)] = True
        present = ~np.isnan(self.numbers)
        return (present & ((self.numbers != 0) | categorical)).astype(float)


def _distinct_rows(*parts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The first position of each distinct row of the parts side by side, and each row's distinct row.

    NaN is keyed as a flag beside a zero, so missing values are equal to each other.
    Sorted by columns (lexsort), which is several times faster than ``np.unique(axis=0)``.
    """
    block = np.column_stack([np.asarray(p, dtype=float) for p in parts])
    missing = np.isnan(block)
    keys = np.column_stack([missing, np.where(missing, 0.0, block)])
    order = np.lexsort(keys.T[::-1])
    ordered = keys[order]
    starts = np.ones(len(keys), dtype=bool)
    starts[1:] = (ordered[1:] != ordered[:-1]).any(axis=1)
    inverse = np.empty(len(keys), dtype=np.intp)
    inverse[order] = np.cumsum(starts) - 1
    return order[starts], inverse


def booster_predict(booster: Any, prepared: pd.DataFrame, **kwargs: Any) -> np.ndarray:
    """``booster.predict`` on prepared model inputs, as float, with :func:`booster_threads`.

    A model trained without categorical columns gets its inputs as one float64
    block: LightGBM's pandas path converts them the same way (the frame's values
    as float64), after per-call dtype checks that cost several times the
    prediction of one case. A model with categorical columns gets the frame, so
    LightGBM maps the levels with the categories it stored at training.
    """
    data = prepared if booster.pandas_categorical else prepared.to_numpy(dtype=np.float64)
    return np.asarray(booster.predict(data, num_threads=booster_threads(len(prepared)), **kwargs), dtype=float)


def booster_threads(n_rows: int) -> int:
    """LightGBM ``num_threads`` for predicting ``n_rows`` rows.

    One thread for a few rows: starting OpenMP workers costs more than the work
    (about 2x on one case on a busy 2-core machine); LightGBM's default (0) for batches.
    """
    return 1 if n_rows < SMALL_BATCH else 0


def _top(score: np.ndarray, k: int) -> np.ndarray:
    """Column indices of the ``k`` largest scores of each row, largest first."""
    n_columns = score.shape[1]
    if k < n_columns:
        top = np.argpartition(-score, k - 1, axis=1)[:, :k]
    else:
        top = np.tile(np.arange(n_columns), (len(score), 1))
    rows = np.arange(len(score))[:, None]
    return np.take_along_axis(top, np.argsort(-score[rows, top], axis=1, kind="stable"), axis=1)


def _sigmoid(margin: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-margin))


def _check_top_k(top_k: Any) -> None:
    if isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or top_k < 1:
        raise ValueError(ERR_TOP_K.format(top_k))


def _booster_of(estimator: Any) -> Any:
    from lightgbm import LGBMClassifier

    if not isinstance(estimator, LGBMClassifier) or not getattr(estimator, "fitted_", False):
        raise ValueError(ERR_ESTIMATOR.format(type(estimator).__name__))
    if len(estimator.classes_) != 2:
        raise ValueError(ERR_ESTIMATOR.format(f"LGBMClassifier with {len(estimator.classes_)} classes"))
    return estimator.booster_


def _family(dictionary: Any, name: str) -> str:
    if dictionary is None:
        return UNASSIGNED_FAMILY
    return str(dictionary.family(name))
