// zod/mini carries no messages of its own: use zod's English ones ("expected string, received number").
import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';

z.config(en());
