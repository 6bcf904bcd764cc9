/*
 * predict.h
 *		What predict() (predict.c) shares with the kinds that compute it.
 */
#ifndef TSF_PREDICT_H
#define TSF_PREDICT_H

extern double tsf_check_prediction(double v, int64 row);

#endif							/* TSF_PREDICT_H */
