/*
 * nn_fixture.h
 *		Reading the network core's PyTorch fixtures (the .txt files of
 *		test/fixtures/nn, written by make_nn_fixtures.py): lines "name
 *		count v1 v2 ...".
 *		Used by test/unit/test_nn.c and test/cuda/test_cuda.c.
 */
#ifndef TSF_NN_FIXTURE_H
#define TSF_NN_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct fixture
{
	int			T, n_in, kernel, channels, hidden, layers, t0, t1, steps;
	double		lr;
	double	   *x, *y, *params, *pred, *loss, *grads, *adam_losses,
			   *params_after;
	size_t		n_params;
} fixture;

/* read the line "name count v..." into a new array; NULL if missing */
static inline double *
fixture_tensor(FILE *f, const char *name, size_t *count)
{
	char		key[64];
	size_t		n;
	double	   *a;

	rewind(f);
	for (;;)
	{
		int			ch;

		if (fscanf(f, " %63s", key) != 1)
			return NULL;
		if (key[0] == '#' || strcmp(key, name) != 0)
		{
			while ((ch = fgetc(f)) != '\n' && ch != EOF)
				;
			continue;
		}
		if (fscanf(f, "%zu", &n) != 1)
			return NULL;
		a = calloc(n ? n : 1, sizeof(double));
		for (size_t j = 0; j < n; j++)
			if (fscanf(f, "%lf", &a[j]) != 1)
			{
				free(a);
				return NULL;
			}
		if (count)
			*count = n;
		return a;
	}
}

static inline int
fixture_load(fixture *fx, const char *dir, const char *name)
{
	char		path[512];
	FILE	   *f;
	double	   *cfg;
	size_t		n;

	snprintf(path, sizeof(path), "%s/%s.txt", dir, name);
	f = fopen(path, "r");
	if (!f)
		return 0;
	cfg = fixture_tensor(f, "config", &n);
	if (!cfg || n != 10)
	{
		fclose(f);
		return 0;
	}
	fx->T = (int) cfg[0];
	fx->n_in = (int) cfg[1];
	fx->kernel = (int) cfg[2];
	fx->channels = (int) cfg[3];
	fx->hidden = (int) cfg[4];
	fx->layers = (int) cfg[5];
	fx->t0 = (int) cfg[6];
	fx->t1 = (int) cfg[7];
	fx->lr = cfg[8];
	fx->steps = (int) cfg[9];
	free(cfg);
	fx->x = fixture_tensor(f, "x", NULL);
	fx->y = fixture_tensor(f, "y", NULL);
	fx->params = fixture_tensor(f, "params", &fx->n_params);
	fx->pred = fixture_tensor(f, "pred", NULL);
	fx->loss = fixture_tensor(f, "loss", NULL);
	fx->grads = fixture_tensor(f, "grads", NULL);
	fx->adam_losses = fixture_tensor(f, "adam_losses", NULL);
	fx->params_after = fixture_tensor(f, "params_after", NULL);
	fclose(f);
	return fx->x && fx->y && fx->params && fx->pred && fx->loss &&
		fx->grads && fx->adam_losses && fx->params_after;
}

static inline void
fixture_free(fixture *fx)
{
	free(fx->x), free(fx->y), free(fx->params), free(fx->pred);
	free(fx->loss), free(fx->grads), free(fx->adam_losses);
	free(fx->params_after);
}

#endif							/* TSF_NN_FIXTURE_H */
