/* placeholder: the admin page(s) come next */
(function () { 'use strict'; })();
