"""The tables that hold the collection scorecards (business rules §10), created by `arrears db init`.

A scorecard version is written once by `arrears score train` and never changed; which version scores a night
is an activation (who, when, from which business date), so rebuilding a night uses the version it used.
"""

SCORE_DDL = [
    """create table if not exists audit.scorecard_versions (
        version text primary key,
        trained_through date not null,      -- last business date whose features were used
        trained_at timestamptz not null,
        rows_train bigint not null,
        rows_holdout bigint not null,
        holdout_ks numeric not null,
        holdout_auc numeric not null,
        holdout_gini numeric not null,
        intercept numeric not null,
        base_points integer not null,       -- points at zero log-odds share (PDO 20, 500 at even odds)
        report jsonb not null               -- the reviewable scorecard (bins, points, calibration)
    )""",
    # One row per feature and bin: numeric bins are [lower_bound, upper_bound) (NULL = unbounded);
    # categorical bins list one category per row; is_missing holds the bin of an empty value.
    """create table if not exists audit.scorecard_bins (
        version text not null references audit.scorecard_versions (version),
        feature text not null,
        bin_no integer not null,
        lower_bound double precision,
        upper_bound double precision,
        category text,
        is_missing boolean not null default false,
        woe double precision not null,
        logit numeric not null,    -- coefficient x WoE: this bin's share of the log-odds (exact sums)
        points integer not null
    )""",
    "create index if not exists scorecard_bins_version_idx on audit.scorecard_bins (version, feature)",
    # The training population's score distribution (for the nightly PSI): share of loans per points band.
    """create table if not exists audit.scorecard_reference (
        version text not null references audit.scorecard_versions (version),
        band_no integer not null,
        lower_points integer,
        upper_points integer,
        expected_share double precision not null,
        primary key (version, band_no)
    )""",
    """create table if not exists audit.scorecard_activations (
        version text not null references audit.scorecard_versions (version),
        effective_from date not null,       -- first business date scored with it
        activated_by text not null,
        activated_at timestamptz not null default now(),
        primary key (effective_from, activated_at)
    )""",
]
