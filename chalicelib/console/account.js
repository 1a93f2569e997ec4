/* placeholder: the account page(s) come next */
(function () { 'use strict'; })();
