"""Cohorts, point-in-time features, labels, the feature dictionary and the single-case path.

What is known at an as-of date (the rules every feature follows):

* A record is known at as_of when its date column is strictly before as_of.
  A record dated on as_of belongs to the outcome window, never to a feature.
* Care episodes: an episode is known once ``start_on < as_of``. It counts as
  open at as_of unless its ``end_on`` is also before as_of; an ``end_on`` on
  or after as_of is not yet known then, so that episode was open.
* Windows: "the last N months" is ``[as_of - days, as_of)`` with 182, 365
  and 730 days for 6, 12 and 24 months. "The last 3 / 6 terms" are the
  latest 3 / 6 attendance terms that ended (``term_end``) in the two years
  before as_of; a term still running at as_of is not yet known.
* Missing is explicit: with no attendance term in those two years
  ``no_school_record`` is 1 and attendance rates and absence flags are NaN
  (LightGBM routes NaN itself); "days since" and "months since" features are
  NaN when there has never been such a record; ``imd_decile`` is NaN where
  the area is not recorded. Counts are 0 only when the partner's table holds
  no such record for the person.
* Ages are whole years at as_of from ``birth_month``
  (``extract.contract.age_in_years``); the audit age band uses
  ``extract.contract.age_band``.

One implementation: ``FeatureBuilder.transform`` serves batch training, batch
scoring and the single case (``features.single_case``), and each row's
features depend only on its own person's records, so a case scored alone
equals the same row of a batch to the bit.
"""
