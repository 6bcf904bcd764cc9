/* tsforecast 0.5.0 -> 0.6.0: evaluation (never edited after release) */

\echo Use "ALTER EXTENSION tsforecast UPDATE TO '0.6.0'" to load this file. \quit
