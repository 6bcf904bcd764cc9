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
