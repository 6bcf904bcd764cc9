/* tsforecast 0.3.0 -> 0.4.0: the CUDA backend (never edited after release) */

\echo Use "ALTER EXTENSION tsforecast UPDATE TO '0.4.0'" to load this file. \quit

COMMENT ON FUNCTION train_async(text, text, jsonb) IS 'queue a training job over the rows of source ([series key,] ts, value [, covariates]); spec: {"kind": "ar"|"lstm", "device": "auto"|"cpu"|"cuda", options}; returns the job id';

-- ---------------------------------------------------------------------------
-- the CUDA backend (0.4.0): loaded at run time where a GPU is usable
-- ---------------------------------------------------------------------------

CREATE FUNCTION cuda_device() RETURNS text
    AS 'MODULE_PATHNAME', 'tsf_cuda_device'
    LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION cuda_device() IS 'the GPU the CUDA backend trains on, or NULL where it is not usable (module not built or installed, no driver, no GPU)';

-- LSTM models are tens of kilobytes of float8 parameters (float32 values
-- widened, so a third of their bytes are zeros): lz4 stores them in about
-- three quarters of the space in 0.05 ms each, pglz (the default) in 60%
-- but 3 ms each, which was most of a GPU job's time.  A server built
-- without lz4 keeps the default.
DO $$
BEGIN
    ALTER TABLE models ALTER COLUMN model SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    NULL;
END $$;
