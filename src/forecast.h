/*
 * forecast.h
 *		What forecast() (forecast.c) shares with the kinds that compute it:
 *		the checks of its arguments, and of the values it returns.
 */
#ifndef TSF_FORECAST_H
#define TSF_FORECAST_H

extern void tsf_check_horizon(int32 horizon);
extern void tsf_check_level(double level);
extern void tsf_check_forecast_value(double v, int step);

#endif							/* TSF_FORECAST_H */
