import { http } from '@google-cloud/functions-framework';
import { authLogin } from '../../shared/api/login';
import { createApp } from '../../shared/http/app';

http('auth-login', createApp('auth-login', authLogin));
