/* placeholder: the reports page(s) come next */
(function () { 'use strict'; })();
